#include "source/common/network/connection_impl.h"

#include <sys/socket.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/network/listener_impl.h"

namespace Skiff::Network {
namespace {

using namespace std::chrono_literals;

// Records what a connection sees; optionally echoes.
class RecordingFilter : public ReadFilter {
 public:
  void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterStatus onNewConnection() override { return FilterStatus::Continue; }
  FilterStatus onData(Buffer::Instance& data, bool end_stream) override {
    if (pass_through) {
      return FilterStatus::Continue;
    }
    received += data.toString();
    saw_end_stream |= end_stream;
    if (echo) {
      callbacks_->connection().write(data, end_stream);
    } else {
      data.drain(data.length());
    }
    if (on_data) {
      on_data();
    }
    return FilterStatus::StopIteration;
  }

  std::string received;
  bool saw_end_stream{false};
  bool echo{false};
  bool pass_through{false};  // Leave the data to the next filter.
  std::function<void()> on_data;

 private:
  ReadFilterCallbacks* callbacks_{nullptr};
};

class RecordingCallbacks : public ConnectionCallbacks {
 public:
  void onEvent(ConnectionEvent event) override {
    events.push_back(event);
    if (on_event) {
      on_event(event);
    }
  }
  void onAboveWriteBufferHighWatermark() override { ++above; }
  void onBelowWriteBufferLowWatermark() override { ++below; }

  std::vector<ConnectionEvent> events;
  std::function<void(ConnectionEvent)> on_event;
  int above{0};
  int below{0};
};

// A loopback listener whose accepted connections get a RecordingFilter.
class ConnectionTest : public testing::Test, public ListenerCallbacks {
 protected:
  void SetUp() override {
    auto address = *Address::Instance::parse("127.0.0.1", 0);
    listen_socket_ = std::move(*createListenSocket(*address, false, 128));
    address_ = localAddress(listen_socket_->fd());
    listener_ = std::make_unique<ListenerImpl>(dispatcher_, listen_socket_->fd(), *this);
    timeout_ = dispatcher_.createTimer([this] {
      timed_out_ = true;
      dispatcher_.exit();
    });
    timeout_->enableTimer(10s);
  }

  void TearDown() override {
    if (server_ && server_->state() != Connection::State::Closed) {
      server_->close(ConnectionCloseType::NoFlush);
    }
    if (client_ && client_->state() != Connection::State::Closed) {
      client_->close(ConnectionCloseType::NoFlush);
    }
    EXPECT_FALSE(timed_out_);
  }

  void onAccept(IoHandlePtr&& socket, Address::InstanceConstSharedPtr remote) override {
    server_ =
        std::make_unique<ConnectionImpl>(dispatcher_, std::move(socket), remote, address_, true);
    server_filter_ = std::make_shared<RecordingFilter>();
    server_->addReadFilter(server_filter_);
    server_->addConnectionCallbacks(server_callbacks_);
    if (on_accept_) {
      on_accept_();
    }
    server_->initializeReadFilters();
  }

  void connectClient(std::chrono::milliseconds timeout = 5s) {
    client_ = createClientConnection(dispatcher_, address_, timeout);
    client_filter_ = std::make_shared<RecordingFilter>();
    client_->addReadFilter(client_filter_);
    client_->addConnectionCallbacks(client_callbacks_);
    client_->connect();
  }

  void run() { dispatcher_.run(Event::Dispatcher::RunType::Block); }

  Event::DispatcherImpl dispatcher_{"test"};
  IoHandlePtr listen_socket_;
  Address::InstanceConstSharedPtr address_;
  std::unique_ptr<ListenerImpl> listener_;
  Event::TimerPtr timeout_;
  bool timed_out_{false};
  std::function<void()> on_accept_;

  std::unique_ptr<ConnectionImpl> server_;
  std::shared_ptr<RecordingFilter> server_filter_;
  RecordingCallbacks server_callbacks_;
  ClientConnectionPtr client_;
  std::shared_ptr<RecordingFilter> client_filter_;
  RecordingCallbacks client_callbacks_;
};

TEST_F(ConnectionTest, EchoRoundTrip) {
  on_accept_ = [this] { server_filter_->echo = true; };
  connectClient();
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      Buffer::OwnedImpl data("ping");
      client_->write(data, false);
      EXPECT_EQ(data.length(), 0u);
    }
  };
  client_filter_->on_data = [this] {
    if (client_filter_->received == "ping") {
      dispatcher_.exit();
    }
  };
  run();
  EXPECT_EQ(client_filter_->received, "ping");
  EXPECT_EQ(client_callbacks_.events.front(), ConnectionEvent::Connected);
  EXPECT_EQ(client_->bytesSent(), 4u);
  EXPECT_EQ(server_->bytesReceived(), 4u);
}

TEST_F(ConnectionTest, HalfCloseDeliversEndStreamAndKeepsTheOtherDirection) {
  on_accept_ = [this] {
    server_->enableHalfClose(true);
    server_filter_->on_data = [this] {
      if (server_filter_->saw_end_stream) {
        // The client finished sending; we can still answer.
        Buffer::OwnedImpl reply("reply after FIN");
        server_->write(reply, true);
      }
    };
  };
  connectClient();
  client_->enableHalfClose(true);
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      Buffer::OwnedImpl data("request");
      client_->write(data, true);
    } else {
      dispatcher_.exit();
    }
  };
  run();
  EXPECT_EQ(server_filter_->received, "request");
  EXPECT_TRUE(server_filter_->saw_end_stream);
  EXPECT_EQ(client_filter_->received, "reply after FIN");
  EXPECT_TRUE(client_filter_->saw_end_stream);
  EXPECT_EQ(client_->state(), Connection::State::Closed);
}

TEST_F(ConnectionTest, WithoutHalfCloseEofClosesTheConnection) {
  connectClient();
  server_callbacks_.on_event = [this](ConnectionEvent event) {
    EXPECT_EQ(event, ConnectionEvent::RemoteClose);
    dispatcher_.exit();
  };
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      Buffer::OwnedImpl data("bye");
      client_->write(data, false);
      client_->close(ConnectionCloseType::FlushWrite);
    }
  };
  run();
  EXPECT_EQ(server_filter_->received, "bye");
  EXPECT_EQ(server_->state(), Connection::State::Closed);
}

TEST_F(ConnectionTest, WriteWatermarksFireWhenPeerStopsReading) {
  on_accept_ = [this] {
    // The server does not read: the client's writes back up into its own buffer.
    server_->readDisable(true);
  };
  connectClient();
  client_->setBufferLimits(64 * 1024);
  std::string chunk(256 * 1024, 'x');
  client_callbacks_.on_event = [&](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      // More than the kernel buffers can hold, so the user-space buffer must pass the limit.
      for (int i = 0; i < 32; ++i) {
        Buffer::OwnedImpl data(chunk);
        client_->write(data, false);
      }
    }
  };
  Event::TimerPtr poll = dispatcher_.createTimer([] {});
  bool resumed = false;
  std::function<void()> check = [&] {
    if (client_callbacks_.above == 1 && !resumed && server_ != nullptr) {
      // Start reading on the server; the client's buffer drains below the low watermark.
      resumed = true;
      server_->readDisable(false);
    }
    if (client_callbacks_.below == 1) {
      dispatcher_.exit();
      return;
    }
    poll->enableTimer(5ms);
  };
  poll = dispatcher_.createTimer([&] { check(); });
  poll->enableTimer(5ms);
  run();
  EXPECT_EQ(client_callbacks_.above, 1);
  EXPECT_EQ(client_callbacks_.below, 1);
}

TEST_F(ConnectionTest, ReadDisableIsCountedAndResumesBufferedData) {
  on_accept_ = [this] {
    server_->readDisable(true);
    server_->readDisable(true);
  };
  connectClient();
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      Buffer::OwnedImpl data("held");
      client_->write(data, false);
    }
  };
  Event::TimerPtr step = dispatcher_.createTimer([&] {
    EXPECT_EQ(server_filter_->received, "");
    server_->readDisable(false);
    EXPECT_FALSE(server_->readEnabled());
    server_->readDisable(false);
    EXPECT_TRUE(server_->readEnabled());
  });
  step->enableTimer(50ms);
  Event::TimerPtr done = dispatcher_.createTimer([&] { dispatcher_.exit(); });
  done->enableTimer(150ms);
  run();
  EXPECT_EQ(server_filter_->received, "held");
}

// A reader that leaves data in the buffer and pauses (an HTTP/1 codec holding back a pipelined
// request) gets it again, with the end of stream, when it resumes after the peer's FIN.
class HoldingFilter : public ReadFilter {
 public:
  void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterStatus onNewConnection() override { return FilterStatus::Continue; }
  FilterStatus onData(Buffer::Instance& data, bool end_stream) override {
    calls.push_back(data.toString() + (end_stream ? "|end" : ""));
    if (calls.size() == 1) {
      callbacks_->connection().readDisable(true);  // Keep the data, stop reading.
    } else {
      data.drain(data.length());
    }
    return FilterStatus::StopIteration;
  }
  std::vector<std::string> calls;

 private:
  ReadFilterCallbacks* callbacks_{nullptr};
};

TEST_F(ConnectionTest, DataLeftAfterFinIsDeliveredAgainOnResume) {
  auto holding = std::make_shared<HoldingFilter>();
  on_accept_ = [&] {
    server_->enableHalfClose(true);
    server_filter_->pass_through = true;
    server_->addReadFilter(holding);
  };
  connectClient();
  client_->enableHalfClose(true);
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      Buffer::OwnedImpl data("pipelined");
      client_->write(data, true);
    }
  };
  Event::TimerPtr poll;
  poll = dispatcher_.createTimer([&] {
    if (holding->calls.size() == 1 && holding->calls[0] == "pipelined|end") {
      server_->readDisable(false);
    } else if (holding->calls.size() == 2) {
      dispatcher_.exit();
      return;
    }
    poll->enableTimer(5ms);
  });
  poll->enableTimer(5ms);
  run();
  ASSERT_EQ(holding->calls.size(), 2u);
  EXPECT_EQ(holding->calls[1], "pipelined|end");
}

TEST_F(ConnectionTest, ConnectRefusedIsRemoteCloseWithReason) {
  auto address = *Address::Instance::parse("127.0.0.1", 0);
  auto socket = std::move(*createListenSocket(*address, false, 1));
  auto closed_address = localAddress(socket->fd());
  socket.reset();  // Nothing listens on this port any more.
  client_ = createClientConnection(dispatcher_, closed_address, 5s);
  client_->addConnectionCallbacks(client_callbacks_);
  client_callbacks_.on_event = [this](ConnectionEvent) { dispatcher_.exit(); };
  client_->connect();
  run();
  ASSERT_EQ(client_callbacks_.events.size(), 1u);
  EXPECT_EQ(client_callbacks_.events[0], ConnectionEvent::RemoteClose);
  EXPECT_EQ(client_->transportFailureReason(), "Connection refused");
  EXPECT_FALSE(client_->connectTimedOut());
}

TEST_F(ConnectionTest, BindsTheSourceAddressBeforeConnecting) {
  BindOptions bind;
  bind.source_address = *Address::Instance::parse("127.0.0.6", 0);
  client_ = createClientConnection(dispatcher_, address_, 5s, bind);
  client_->addConnectionCallbacks(client_callbacks_);
  on_accept_ = [this] { dispatcher_.exit(); };
  client_->connect();
  run();
  ASSERT_NE(server_, nullptr);
  EXPECT_EQ(server_->remoteAddress()->ip(), "127.0.0.6");
}

// A bind that cannot work fails the connect; the fresh socket (which polls writable with no
// error) must not be taken for a connected one meanwhile.
TEST_F(ConnectionTest, UnusableSourceAddressIsAConnectFailureNotAConnection) {
  for (const char* source : {"::1", "192.0.2.1"}) {  // Wrong family; not configured here.
    BindOptions bind;
    bind.source_address = *Address::Instance::parse(source, 0);
    RecordingCallbacks callbacks;
    auto client = createClientConnection(dispatcher_, address_, 5s, bind);
    client->addConnectionCallbacks(callbacks);
    callbacks.on_event = [this](ConnectionEvent) { dispatcher_.exit(); };
    client->connect();
    run();
    ASSERT_EQ(callbacks.events.size(), 1u) << source;
    EXPECT_EQ(callbacks.events[0], ConnectionEvent::RemoteClose) << source;
    EXPECT_NE(client->transportFailureReason().find(source), std::string::npos)
        << client->transportFailureReason();
    EXPECT_EQ(server_, nullptr);
  }
}

TEST_F(ConnectionTest, CloseFlushWriteDeliversEverythingFirst) {
  on_accept_ = [this] {
    std::string big(4 * 1024 * 1024, 'z');
    Buffer::OwnedImpl data(big);
    server_->write(data, false);
    server_->close(ConnectionCloseType::FlushWrite);
  };
  connectClient();
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event != ConnectionEvent::Connected) {
      dispatcher_.exit();
    }
  };
  run();
  EXPECT_EQ(client_filter_->received.size(), 4u * 1024 * 1024);
  EXPECT_EQ(server_callbacks_.events.back(), ConnectionEvent::LocalClose);
}

// The peer keeps sending after we answered and closed. A plain close would leave its bytes unread
// in our receive queue, and the kernel answers close() on such a socket with a RST and discards
// the part of the answer still queued for sending; FlushWriteAndDelay must deliver the whole
// answer and a clean FIN instead.
TEST_F(ConnectionTest, FlushWriteAndDelayDeliversTheAnswerWhileThePeerKeepsSending) {
  on_accept_ = [this] {
    server_filter_->on_data = [this] {
      if (server_->state() == Connection::State::Open) {
        // Big enough to still be queued in the kernel when the server closes.
        Buffer::OwnedImpl answer(std::string(8 * 1024 * 1024, 'a'));
        server_->write(answer, false);
        server_->close(ConnectionCloseType::FlushWriteAndDelay);
      }
    };
  };
  // A blocking client so the test can send, then read, exactly like a simple HTTP client.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::connect(fd, address_->sockAddr(), address_->sockAddrLen()), 0);
  std::thread sender([fd] {
    std::string chunk(16 * 1024, 'x');
    // Keep sending for a while after the server answered; stop on the server's FIN/RST.
    for (int i = 0; i < 64; ++i) {
      if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) {
        break;
      }
      std::this_thread::sleep_for(2ms);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::string got;
  ssize_t rc = 0;
  int recv_errno = 0;
  std::thread reader([&] {
    std::this_thread::sleep_for(20ms);  // Let the answer pile up in the kernel first.
    char buf[64 * 1024];
    while ((rc = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
      got.append(buf, rc);
    }
    recv_errno = rc < 0 ? errno : 0;
  });
  server_callbacks_.on_event = [this](ConnectionEvent) { dispatcher_.exit(); };
  run();
  sender.join();
  reader.join();
  ::close(fd);
  EXPECT_EQ(rc, 0) << "expected a clean FIN, got " << strerror(recv_errno);
  EXPECT_EQ(got.size(), 8u * 1024 * 1024);
  EXPECT_EQ(server_callbacks_.events.back(), ConnectionEvent::LocalClose);
}

// A peer that never closes its side is not waited for longer than the delayed-close timeout.
TEST_F(ConnectionTest, FlushWriteAndDelayGivesUpAfterTheTimeout) {
  on_accept_ = [this] {
    server_->setDelayedCloseTimeout(50ms);
    server_filter_->on_data = [this] {
      if (server_->state() == Connection::State::Open) {
        server_->close(ConnectionCloseType::FlushWriteAndDelay);
      }
    };
  };
  server_callbacks_.on_event = [this](ConnectionEvent) { dispatcher_.exit(); };
  connectClient();
  // With half-close the client keeps its side open after the server's FIN, as a stuck peer would.
  client_->enableHalfClose(true);
  client_callbacks_.on_event = [this](ConnectionEvent event) {
    if (event == ConnectionEvent::Connected) {
      Buffer::OwnedImpl hello("hello");
      client_->write(hello, false);
    }
  };
  const auto start = std::chrono::steady_clock::now();
  run();
  EXPECT_EQ(server_callbacks_.events.back(), ConnectionEvent::LocalClose);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  // The client never closed: the server closed on the timeout, and the client saw its FIN.
  EXPECT_EQ(client_->state(), Connection::State::Open);
  EXPECT_TRUE(client_filter_->saw_end_stream);
}

}  // namespace
}  // namespace Skiff::Network
