{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/core"],
    "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"],
    "cflags_cc!": ["-fno-exceptions"],
    "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_ENABLE_CPP_EXCEPTIONS": "YES" }
  },
  "targets": [
    {
      "target_name": "vsgd",
      "sources": [
        "native/addon/module.cpp", "native/addon/engine.cpp", "native/addon/rows.cpp",
        "native/addon/phases.cpp", "native/addon/worker.cpp", "native/addon/args.cpp", "native/core/cpu.cpp",
        "native/core/cpu_generic.cpp",
        "native/core/sparse.cpp", "native/core/accumulate.cpp", "native/core/triad.cpp", "native/core/pages.cpp", "native/core/cuda_stub.cpp",
        "native/core/checkpoint.cpp", "native/core/mirror.cpp", "native/addon/checkpoint.cpp"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "ldflags": ["-fopenmp"],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["vsgd_avx2", "vsgd_avx512"], "defines": ["VSGD_HAVE_AVX2", "VSGD_HAVE_AVX512"] }]
      ]
    },
    {
      "target_name": "vsgd_avx2",
      "type": "static_library",
      "sources": ["native/core/cpu_avx2.cpp"],
      "cflags_cc": ["-mavx2", "-mfma", "-fPIC"]
    },
    {
      "target_name": "vsgd_avx512",
      "type": "static_library",
      "sources": ["native/core/cpu_avx512.cpp"],
      "cflags_cc": ["-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512dq", "-mavx512bw", "-fPIC"]
    }
  ]
}
