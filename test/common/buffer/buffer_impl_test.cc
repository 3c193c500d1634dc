#include "source/common/buffer/buffer_impl.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"

namespace Skiff::Buffer {
namespace {

TEST(BufferImplTest, AddDrainAndToString) {
  OwnedImpl buffer;
  EXPECT_EQ(buffer.length(), 0u);
  buffer.add("hello ");
  buffer.add(std::string("world"));
  EXPECT_EQ(buffer.length(), 11u);
  EXPECT_EQ(buffer.toString(), "hello world");
  buffer.drain(6);
  EXPECT_EQ(buffer.toString(), "world");
}

TEST(BufferImplTest, MoveAllAndPart) {
  OwnedImpl a("abcdef");
  OwnedImpl b("012");
  b.move(a, 2);
  EXPECT_EQ(b.toString(), "012ab");
  EXPECT_EQ(a.toString(), "cdef");
  b.move(a);
  EXPECT_EQ(b.toString(), "012abcdef");
  EXPECT_EQ(a.length(), 0u);
}

TEST(BufferImplTest, LargeMoveKeepsEveryByte) {
  OwnedImpl a;
  std::string payload;
  for (int i = 0; i < 1 << 20; ++i) {
    payload.push_back(static_cast<char>(i * 31));
  }
  a.add(payload);
  OwnedImpl b;
  b.move(a);
  EXPECT_EQ(b.toString(), payload);
}

TEST(BufferImplTest, ReadFromFdHonoursMaxAndReportsEofAndEagain) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  ASSERT_EQ(write(fds[1], "0123456789", 10), 10);
  OwnedImpl buffer;
  EXPECT_EQ(buffer.readFromFd(fds[0], 4), 4);
  EXPECT_EQ(buffer.toString(), "0123");
  EXPECT_EQ(buffer.readFromFd(fds[0], 100), 6);
  EXPECT_EQ(buffer.toString(), "0123456789");
  EXPECT_EQ(buffer.readFromFd(fds[0], 100), -1);
  EXPECT_EQ(errno, EAGAIN);
  close(fds[1]);
  EXPECT_EQ(buffer.readFromFd(fds[0], 100), 0);
  close(fds[0]);
}

TEST(BufferImplTest, WriteToFdDrainsWhatWasWritten) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  OwnedImpl buffer("abc");
  OwnedImpl more("def");
  buffer.move(more);
  EXPECT_EQ(buffer.writeToFd(fds[0]), 6);
  EXPECT_EQ(buffer.length(), 0u);
  char out[8] = {};
  EXPECT_EQ(read(fds[1], out, sizeof(out)), 6);
  EXPECT_EQ(std::string(out), "abcdef");
  close(fds[1]);
  buffer.add("x");
  EXPECT_EQ(buffer.writeToFd(fds[0]), -1);  // EPIPE, and no SIGPIPE killed us.
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(buffer.length(), 1u);
  close(fds[0]);
}

}  // namespace
}  // namespace Skiff::Buffer
