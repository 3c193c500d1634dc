"""Project macros: every skiff target passes through here so build-wide settings live in one place."""

def skiff_cc_library(name, deps = [], **kwargs):
    native.cc_library(name = name, deps = deps, **kwargs)

def skiff_cc_binary(name, deps = [], **kwargs):
    native.cc_binary(name = name, deps = deps, **kwargs)

def skiff_cc_test(name, deps = [], **kwargs):
    native.cc_test(
        name = name,
        deps = deps + ["@system//:gtest", "@system//:gtest_main"],
        **kwargs
    )

def skiff_proto_library(name, srcs, deps = [], grpc = False, proto_deps = []):
    """Compiles .proto files (paths relative to the package, normally //api) with the system protoc.

    Imports across targets work without listing files by hand: every skiff_proto_library also
    creates a filegroup `<name>_protos` holding its .proto files plus those of its deps
    (transitively), and protoc is given that filegroup for each dep.

    Args:
      name: the cc_library to create.
      srcs: .proto files in this package, e.g. "envoy/config/core/v3/address.proto".
      deps: other skiff_proto_library targets whose messages these files import.
      grpc: also generate gRPC service stubs.
      proto_deps: extra .proto files protoc must be able to read (rarely needed: the .proto files
        of `deps` are already included).
    """
    pkg = native.package_name()
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    dep_protos = [d + "_protos" for d in deps]
    native.filegroup(
        name = name + "_protos",
        srcs = srcs + proto_deps + dep_protos,
        visibility = ["//visibility:public"],
    )
    grpc_flags = ""
    if grpc:
        grpc_flags = "--grpc_out=$(GENDIR)/%s --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin" % pkg
    native.genrule(
        name = name + "_gen",
        srcs = srcs + proto_deps + dep_protos,
        outs = outs,
        cmd = "protoc -I%s -I/usr/include --cpp_out=$(GENDIR)/%s %s %s" % (
            pkg,
            pkg,
            grpc_flags,
            " ".join([pkg + "/" + s for s in srcs]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        copts = ["-Wno-unused-parameter"],
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc"] if grpc else []),
        visibility = ["//visibility:public"],
    )
