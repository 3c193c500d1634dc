#pragma once

// Helpers for the server tests that run a real worker without iptables: a fake SO_ORIGINAL_DST
// (the original_dst listener filter is given fakeOriginalDst(), which looks the destination up by
// the client's port, registered by the test before it connects), and a way to wait on the main
// dispatcher for a change posted to a worker.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "source/common/common/thread.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/io_handle.h"

namespace Skiff::Server {

// Client port -> original destination. Written by the test thread, read by the worker.
class FakeOriginalDst {
 public:
  static void set(uint16_t client_port, Network::Address::InstanceConstSharedPtr original) {
    Thread::LockGuard lock(mutex());
    map()[client_port] = std::move(original);
  }
  static void clear() {
    Thread::LockGuard lock(mutex());
    map().clear();
  }
  // The getter for createOriginalDstFilter(): the destination registered for the peer's port.
  static Network::Address::InstanceConstSharedPtr lookup(int fd) {
    Network::Address::InstanceConstSharedPtr peer = Network::peerAddress(fd);
    if (peer == nullptr) {
      return nullptr;
    }
    Thread::LockGuard lock(mutex());
    auto it = map().find(peer->port());
    return it == map().end() ? nullptr : it->second;
  }

 private:
  static Thread::MutexBasicLockable& mutex() {
    static Thread::MutexBasicLockable m;
    return m;
  }
  static std::map<uint16_t, Network::Address::InstanceConstSharedPtr>& map() {
    static std::map<uint16_t, Network::Address::InstanceConstSharedPtr> m;
    return m;
  }
};

inline Network::Address::InstanceConstSharedPtr addr(const std::string& ip, uint32_t port) {
  return *Network::Address::Instance::parse(ip, port);
}

// Runs `main` until `start` has called its completion (or 10 s pass).
inline void runUntilApplied(Event::Dispatcher& main,
                            const std::function<void(std::function<void()>)>& start) {
  bool done = false;
  start([&] {
    done = true;
    main.exit();
  });
  Event::TimerPtr guard = main.createTimer([&main] { main.exit(); });
  guard->enableTimer(std::chrono::seconds(10));
  if (!done) {
    main.run(Event::Dispatcher::RunType::Block);
  }
  ASSERT_TRUE(done) << "the worker did not apply the change in time";
}

}  // namespace Skiff::Server
