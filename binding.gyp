{
  "targets": [
    {
      "target_name": "vsgd",
      "sources": ["native/addon/addon.cpp", "native/core/cpu.cpp", "native/core/cuda_stub.cpp"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/core"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_ENABLE_CPP_EXCEPTIONS": "YES" },
      "msvs_settings": { "VCCLCompilerTool": { "OpenMP": "true", "ExceptionHandling": 1 } }
    }
  ]
}
