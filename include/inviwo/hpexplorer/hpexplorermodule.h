#pragma once

#include <inviwo/hpexplorer/hpexplorermoduledefine.h>
#include <inviwo/core/common/inviwomodule.h>
#include <modules/python3/pythonprocessorfolderobserver.h>
#include <modules/python3/pyutils.h>

namespace inviwo {

/**
 * HPExplorer: visual analysis of the impact of neural-network hyper-parameters.
 *
 * The processors are Python files in the module's processors/ folder. Inviwo's
 * Python3 module only watches its own processors/ folder and the user's
 * python_processors folder, so this module watches its own; it also puts the
 * module folder (the repository root, which holds the hpcore package) on
 * Python's sys.path. The members are initialized in declaration order: the
 * path first, so that the processors can import hpcore when they are loaded.
 */
class IVW_MODULE_HPEXPLORER_API HPExplorerModule : public InviwoModule {
public:
    explicit HPExplorerModule(InviwoApplication* app);
    virtual ~HPExplorerModule() = default;

private:
    pyutil::ModulePath repositoryRoot_;
    PythonProcessorFolderObserver processorFolder_;
};

}  // namespace inviwo
