#include "source/common/network/listener_impl.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"

namespace Skiff::Network {
namespace {

using namespace std::chrono_literals;

class CountingCallbacks : public ListenerCallbacks {
 public:
  void onAccept(IoHandlePtr&& socket, Address::InstanceConstSharedPtr) override {
    accepted.push_back(std::move(socket));
    if (on_accept) {
      on_accept();
    }
  }
  void onAcceptResourceFailure(int error) override {
    ++failures;
    last_error = error;
  }

  std::vector<IoHandlePtr> accepted;
  std::function<void()> on_accept;
  int failures{0};
  int last_error{0};
};

// Out of descriptors, a queued connection cannot be accepted. The listener must back off rather
// than spin on its level-triggered event, and accept the connection once descriptors are free.
TEST(ListenerImplTest, DescriptorExhaustionBacksOffThenRecovers) {
  Event::DispatcherImpl dispatcher("test");
  auto address = *Address::Instance::parse("127.0.0.1", 0);
  IoHandlePtr listen_socket = std::move(*createListenSocket(*address, false, 128));
  auto bound = localAddress(listen_socket->fd());
  CountingCallbacks callbacks;
  ListenerImpl listener(dispatcher, listen_socket->fd(), callbacks);

  rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 128;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> hogs;
  int fd;
  while ((fd = ::dup(0)) >= 0) {
    hogs.push_back(fd);
  }
  ASSERT_EQ(errno, EMFILE);
  // One descriptor for the client; the kernel completes its connect into the accept queue.
  ::close(hogs.back());
  hogs.pop_back();
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  ASSERT_EQ(::connect(client, bound->sockAddr(), bound->sockAddrLen()), 0);

  auto stop = dispatcher.createTimer([&] { dispatcher.exit(); });
  stop->enableTimer(300ms);
  dispatcher.run(Event::Dispatcher::RunType::Block);
  EXPECT_EQ(callbacks.last_error, EMFILE);
  // Back-off of 10, 20, 40, 80, 160 ms fits about five attempts in 300 ms; a spinning loop would
  // make thousands.
  EXPECT_GE(callbacks.failures, 1);
  EXPECT_LE(callbacks.failures, 8);
  EXPECT_TRUE(callbacks.accepted.empty());

  for (int hog : hogs) {
    ::close(hog);
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  callbacks.on_accept = [&] { dispatcher.exit(); };
  stop->enableTimer(5s);
  dispatcher.run(Event::Dispatcher::RunType::Block);
  EXPECT_EQ(callbacks.accepted.size(), 1u) << "the queued connection is accepted after recovery";
  ::close(client);
}

// A disabled listener leaves connections queued; enabling it accepts them.
TEST(ListenerImplTest, DisabledListenerAcceptsNothingUntilEnabled) {
  Event::DispatcherImpl dispatcher("test");
  auto address = *Address::Instance::parse("127.0.0.1", 0);
  IoHandlePtr listen_socket = std::move(*createListenSocket(*address, false, 128));
  auto bound = localAddress(listen_socket->fd());
  CountingCallbacks callbacks;
  ListenerImpl listener(dispatcher, listen_socket->fd(), callbacks);
  listener.disable();
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, bound->sockAddr(), bound->sockAddrLen()), 0);
  auto stop = dispatcher.createTimer([&] { dispatcher.exit(); });
  stop->enableTimer(100ms);
  dispatcher.run(Event::Dispatcher::RunType::Block);
  EXPECT_TRUE(callbacks.accepted.empty());
  listener.enable();
  callbacks.on_accept = [&] { dispatcher.exit(); };
  stop->enableTimer(5s);
  dispatcher.run(Event::Dispatcher::RunType::Block);
  EXPECT_EQ(callbacks.accepted.size(), 1u);
  ::close(client);
}

}  // namespace
}  // namespace Skiff::Network
