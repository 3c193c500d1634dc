#pragma once

// Helpers for the health checking and outlier detection tests: a raw loopback backend whose
// answer can change during a test, and a loop runner that polls with a generous deadline (no
// timing asserts).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "source/common/buffer/buffer_impl.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/listener_impl.h"

namespace Skiff::Upstream::Test {

using namespace std::chrono_literals;

// Runs `dispatcher` until `done` holds (polled every 2 ms) or 10 s pass.
inline bool runUntil(Event::Dispatcher& dispatcher, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = 10s) {
  bool ok = false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Event::TimerPtr poll;
  poll = dispatcher.createTimer([&] {
    if (done()) {
      ok = true;
      dispatcher.exit();
    } else if (std::chrono::steady_clock::now() > deadline) {
      dispatcher.exit();
    } else {
      poll->enableTimer(2ms);
    }
  });
  poll->enableTimer(0ms);
  dispatcher.run(Event::Dispatcher::RunType::Block);
  return ok;
}

/**
 * A loopback server on the test's dispatcher. Each time `trigger` appears in what a connection
 * received, `reply` is written back (and the connection closed if `close_after`). `reply` empty
 * means: never answer. Records everything received.
 */
class RawBackend : public Network::ListenerCallbacks {
 public:
  class Conn : public Network::ReadFilter {
   public:
    explicit Conn(RawBackend& backend) : backend_(backend) {}
    void initializeReadFilterCallbacks(Network::ReadFilterCallbacks&) override {}
    Network::FilterStatus onNewConnection() override { return Network::FilterStatus::Continue; }
    Network::FilterStatus onData(Buffer::Instance& data, bool) override {
      pending_ += data.toString();
      backend_.received += data.toString();
      data.drain(data.length());
      size_t at;
      while (!backend_.trigger.empty() &&
             (at = pending_.find(backend_.trigger)) != std::string::npos) {
        pending_.erase(0, at + backend_.trigger.size());
        ++backend_.requests;
        if (backend_.reply.empty()) {
          continue;
        }
        Buffer::OwnedImpl out(backend_.reply);
        connection->write(out, false);
        if (backend_.close_after) {
          connection->close(Network::ConnectionCloseType::FlushWrite);
          return Network::FilterStatus::StopIteration;
        }
      }
      return Network::FilterStatus::StopIteration;
    }

    std::unique_ptr<Network::ConnectionImpl> connection;

   private:
    RawBackend& backend_;
    std::string pending_;
  };

  explicit RawBackend(Event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {
    auto any = *Network::Address::Instance::parse("127.0.0.1", 0);
    socket_ = std::move(*Network::createListenSocket(*any, false, 128));
    address = Network::localAddress(socket_->fd());
    listener_ = std::make_unique<Network::ListenerImpl>(dispatcher_, socket_->fd(), *this);
  }
  ~RawBackend() override {
    listener_.reset();
    for (auto& conn : conns) {
      if (conn->connection->state() != Network::Connection::State::Closed) {
        conn->connection->close(Network::ConnectionCloseType::NoFlush);
      }
      conn->connection.reset();  // It holds its filter (conn): break the cycle.
    }
  }

  void onAccept(Network::IoHandlePtr&& socket,
                Network::Address::InstanceConstSharedPtr remote) override {
    auto conn = std::make_shared<Conn>(*this);
    conn->connection = std::make_unique<Network::ConnectionImpl>(dispatcher_, std::move(socket),
                                                                 remote, address, true);
    conn->connection->addReadFilter(conn);
    conn->connection->initializeReadFilters();
    conns.push_back(conn);
  }

  // An HTTP/1.1 answer with this status and an empty body (keep-alive).
  static std::string httpReply(int status) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-length: 0\r\n\r\n";
  }
  void answerHttp(int status) {
    trigger = "\r\n\r\n";
    reply = httpReply(status);
  }

  Network::Address::InstanceConstSharedPtr address;
  std::vector<std::shared_ptr<Conn>> conns;
  std::string trigger{"\r\n\r\n"};
  std::string reply{httpReply(200)};
  bool close_after{false};
  std::string received;
  int requests{0};

 private:
  Event::Dispatcher& dispatcher_;
  Network::IoHandlePtr socket_;
  std::unique_ptr<Network::ListenerImpl> listener_;
};

// A loopback address nothing listens on (bound, then closed).
inline Network::Address::InstanceConstSharedPtr refusingAddress() {
  auto any = *Network::Address::Instance::parse("127.0.0.1", 0);
  auto socket = std::move(*Network::createListenSocket(*any, false, 1));
  auto address = Network::localAddress(socket->fd());
  socket.reset();
  return address;
}

}  // namespace Skiff::Upstream::Test
