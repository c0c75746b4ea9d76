#include <inviwo/hpexplorer/hpexplorermodule.h>

namespace inviwo {

HPExplorerModule::HPExplorerModule(InviwoApplication* app)
    : InviwoModule(app, "HPExplorer")
    , repositoryRoot_{getPath()}
    , processorFolder_{app, getPath() / "processors", *this} {}

}  // namespace inviwo
