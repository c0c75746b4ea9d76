# Inviwo module dependencies of HPExplorer, as "Inviwo<ModuleName>Module".
# Python3: runs the Python processors; DataFrame and DataFramePython: the
# ivwdataframe outports; BrushingAndLinking: the ivwbnl brushing inport.
set(dependencies
    InviwoPython3Module
    InviwoDataFrameModule
    InviwoDataFramePythonModule
    InviwoBrushingAndLinkingModule
)

# Enabled when first added to CMake (the module exists to be used).
set(EnableByDefault ON)
