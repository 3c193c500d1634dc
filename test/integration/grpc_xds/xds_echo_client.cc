// A gRPC client configured only by xDS: it dials --target (e.g. xds:///echo), which gRPC's own
// xDS resolver resolves through the management server named in the bootstrap file
// $GRPC_XDS_BOOTSTRAP (listener -> route configuration -> cluster -> endpoints). It makes one
// Echo RPC every --interval_ms until killed and prints one line per RPC:
//   ok <backend name>
//   error <grpc status code> <message>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "xds:///echo", "channel target");
ABSL_FLAG(int, interval_ms, 20, "pause between RPCs");
ABSL_FLAG(int, deadline_ms, 5000, "deadline of each RPC");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (std::getenv("GRPC_XDS_BOOTSTRAP") == nullptr &&
      std::getenv("GRPC_XDS_BOOTSTRAP_CONFIG") == nullptr) {
    std::fprintf(stderr, "xds_echo_client: set GRPC_XDS_BOOTSTRAP to the bootstrap file\n");
    return 2;
  }
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  auto stub = skiff::test::echo::Echo::NewStub(channel);
  for (int i = 0;; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
    skiff::test::echo::EchoRequest request;
    request.set_message(std::to_string(i));
    skiff::test::echo::EchoReply reply;
    const grpc::Status status = stub->Echo(&context, request, &reply);
    if (status.ok()) {
      std::printf("ok %s\n", reply.backend().c_str());
    } else {
      std::printf("error %d %s\n", static_cast<int>(status.error_code()),
                  status.error_message().c_str());
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(absl::GetFlag(FLAGS_interval_ms)));
  }
}
