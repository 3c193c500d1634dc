// A test gRPC backend: answers skiff.test.echo.Echo/Echo with its --name. Prints
// "listening on PORT" once it serves (with --port 0 the kernel picks the port). Runs until killed.

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(int, port, 0, "port to listen on (127.0.0.1)");
ABSL_FLAG(std::string, name, "backend", "name returned in every reply");

namespace {

class EchoService final : public skiff::test::echo::Echo::Service {
 public:
  explicit EchoService(std::string name) : name_(std::move(name)) {}

  grpc::Status Echo(grpc::ServerContext*, const skiff::test::echo::EchoRequest* request,
                    skiff::test::echo::EchoReply* reply) override {
    reply->set_message(request->message());
    reply->set_backend(name_);
    return grpc::Status::OK;
  }

 private:
  const std::string name_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  EchoService service(absl::GetFlag(FLAGS_name));
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo_server: cannot listen on port %d\n", absl::GetFlag(FLAGS_port));
    return 1;
  }
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
