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

def _system_libs_impl(ctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in ctx.attr.libs.items():
        cflags = _pkg_config(ctx, ["--cflags"] + modules)
        libs = _pkg_config(ctx, ["--libs"] + modules)
        build.append("cc_library(")
        build.append('    name = "%s",' % name)
        build.append("    copts = %s," % repr([f for f in cflags if not f.startswith("-I/usr/include")]))
        build.append("    linkopts = %s," % repr(libs))
        build.append(")")
        build.append("")
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", "\n".join(build))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {"libs": attr.string_list_dict(mandatory = True)},
    local = True,
)
