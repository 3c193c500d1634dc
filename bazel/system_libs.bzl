"""A repository rule that exposes Debian's system libraries as cc_library targets.

Each entry maps a target name to pkg-config modules; `pkg-config --cflags --libs` runs at fetch time
and the flags become the target's copts and linkopts. Headers live in /usr/include, which the
toolchain already searches, so no hdrs are declared.
"""

def _pkg_config(ctx, args):
    result = ctx.execute(["pkg-config"] + args)
    if result.return_code != 0:
        fail("pkg-config %s failed: %s (run tools/setup to install the -dev packages)" %
             (" ".join(args), result.stderr))
    return [flag for flag in result.stdout.strip().split(" ") if flag]

# Libraries that always stay shared: the C runtime and the C++ runtime (the release build links
# libstdc++ statically with -static-libstdc++ instead).
_ALWAYS_SHARED = ["c", "m", "rt", "dl", "pthread", "atomic", "stdc++", "gcc_s"]

def _static_flags(ctx, libs):
    """Turns -lNAME into -l:libNAME.a where Debian ships the archive.

    A static release binary touches only the library code it uses and needs no relocation of the
    libraries' data, which cuts skiff's idle RSS by about a third.
    """
    out = []
    for flag in libs:
        if flag.startswith("-l") and not flag.startswith("-l:"):
            name = flag[2:]
            if name == "stdc++":
                continue
            if name not in _ALWAYS_SHARED and ctx.path("/usr/lib/x86_64-linux-gnu/lib%s.a" % name).exists:
                out.append("-l:lib%s.a" % name)
                continue
        out.append(flag)
    return out

def _system_libs_impl(ctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in ctx.attr.libs.items():
        cflags = _pkg_config(ctx, ["--cflags"] + modules)
        libs = _pkg_config(ctx, ["--libs"] + modules)
        build.append("cc_library(")
        build.append('    name = "%s",' % name)
        build.append("    copts = %s," % repr([f for f in cflags if not f.startswith("-I/usr/include")]))
        if name in ctx.attr.static_in_release:
            build.append("    linkopts = select({")
            build.append('        "@//bazel:release": %s,' % repr(_static_flags(ctx, libs)))
            build.append('        "//conditions:default": %s,' % repr(libs))
            build.append("    }),")
        else:
            build.append("    linkopts = %s," % repr(libs))
        if name in ctx.attr.tsan_deps:
            build.append("    deps = select({")
            build.append('        "@//bazel:tsan": %s,' % repr(ctx.attr.tsan_deps[name]))
            build.append('        "//conditions:default": [],')
            build.append("    }),")
        build.append(")")
        build.append("")
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", "\n".join(build))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {
        "libs": attr.string_list_dict(mandatory = True),
        # Targets linked from static archives in optimized (release) builds.
        "static_in_release": attr.string_list(default = []),
        # Extra deps of a target in ThreadSanitizer builds (@//bazel:tsan).
        "tsan_deps": attr.string_list_dict(default = {}),
    },
    local = True,
)

def _llhttp_impl(ctx):
    """llhttp (the HTTP/1 parser of Node.js) compiled from the C sources Debian's node-llhttp ships."""
    files = {
        "llhttp.c": "/usr/share/llhttp/llhttp.c",
        "api.c": "/usr/share/llhttp/api.c",
        "http.c": "/usr/share/llhttp/http.c",
        "include/llhttp.h": "/usr/share/include/llhttp/llhttp.h",
    }
    for dst, src in files.items():
        if not ctx.path(src).exists:
            fail("%s is missing (run tools/setup to install node-llhttp)" % src)
        ctx.symlink(src, dst)
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", """package(default_visibility = ["//visibility:public"])

# LLHTTP_STRICT_MODE rejects what the loose mode lets through for old peers: whitespace before a
# header colon, a chunk without its CRLF, data after `Connection: close`. A proxy must parse
# exactly as strictly as it can to leave no room for request smuggling.
cc_library(
    name = "llhttp",
    srcs = ["llhttp.c", "api.c", "http.c"],
    hdrs = ["include/llhttp.h"],
    includes = ["include"],
    copts = ["-O3", "-w"],
    defines = ["LLHTTP_STRICT_MODE=1"],
)
""")

llhttp_repository = repository_rule(
    implementation = _llhttp_impl,
    local = True,
)
