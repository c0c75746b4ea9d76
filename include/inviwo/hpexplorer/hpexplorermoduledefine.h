#pragma once

// Export macro of the HPExplorer module (the pattern Inviwo's module template
// uses; IVW_MODULE_HPEXPLORER_EXPORTS is defined while building this module).
// clang-format off
#ifdef INVIWO_ALL_DYN_LINK
    #ifdef IVW_MODULE_HPEXPLORER_EXPORTS
        #ifdef _WIN32
            #define IVW_MODULE_HPEXPLORER_API __declspec(dllexport)
        #else
            #define IVW_MODULE_HPEXPLORER_API __attribute__((visibility("default")))
        #endif
    #else
        #ifdef _WIN32
            #define IVW_MODULE_HPEXPLORER_API __declspec(dllimport)
        #else
            #define IVW_MODULE_HPEXPLORER_API
        #endif
    #endif
#else
    #define IVW_MODULE_HPEXPLORER_API
#endif
// clang-format on
