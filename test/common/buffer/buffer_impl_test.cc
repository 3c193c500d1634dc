#include "source/common/buffer/buffer_impl.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

TEST(BufferImplTest, SlicesPeekInPlace) {
  OwnedImpl buffer;
  EXPECT_EQ(buffer.frontSlice().len, 0u);
  RawSlice slices[4];
  EXPECT_EQ(buffer.getRawSlices(slices, 4), 0u);

  // Moves above the copy threshold relink slices: each piece stays its own slice.
  const std::string hello = "hello " + std::string(2000, 'h');
  const std::string world = "world" + std::string(2000, 'w');
  OwnedImpl a(hello);
  OwnedImpl b(world);
  buffer.move(a);
  buffer.move(b);
  RawSlice front = buffer.frontSlice();
  EXPECT_EQ(std::string(static_cast<char*>(front.mem), front.len), hello);
  const uint64_t n = buffer.getRawSlices(slices, 4);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(std::string(static_cast<char*>(slices[1].mem), slices[1].len), world);
  EXPECT_EQ(buffer.getRawSlices(slices, 1), 1u);
  buffer.drain(hello.size());
  front = buffer.frontSlice();
  EXPECT_EQ(std::string(static_cast<char*>(front.mem), front.len), world);
}

TEST(BufferImplTest, SmallMoveIsCopiedIntoTheTail) {
  // A small body after a response head ends up in the head's slice: one iovec per write.
  OwnedImpl out("HTTP/1.1 200 OK\r\n\r\n");
  OwnedImpl body("hello");
  out.move(body);
  EXPECT_EQ(body.length(), 0u);
  RawSlice slices[4];
  ASSERT_EQ(out.getRawSlices(slices, 4), 1u);
  EXPECT_EQ(out.toString(), "HTTP/1.1 200 OK\r\n\r\nhello");
  // The emptied source is usable again.
  body.add("again");
  EXPECT_EQ(body.toString(), "again");
}

TEST(BufferImplTest, PartialMovesAndDrainsAcrossSlices) {
  std::string payload;
  for (int i = 0; i < 300000; ++i) {
    payload.push_back(static_cast<char>('a' + i % 26));
  }
  OwnedImpl a(payload);  // Three slices of at most 128 KiB.
  RawSlice slices[8];
  EXPECT_EQ(a.getRawSlices(slices, 8), 3u);
  OwnedImpl b;
  b.move(a, 131072 + 5);  // One whole slice relinked, five bytes copied.
  EXPECT_EQ(b.length(), 131072u + 5);
  EXPECT_EQ(a.length(), payload.size() - 131072 - 5);
  b.drain(7);
  EXPECT_EQ(b.toString(), payload.substr(7, 131072 + 5 - 7));
  EXPECT_EQ(a.toString(), payload.substr(131072 + 5));
  a.drain(a.length() + 10);  // Draining more than there is empties the buffer.
  EXPECT_EQ(a.length(), 0u);
  EXPECT_EQ(a.frontSlice().len, 0u);
  OwnedImpl c(std::move(b));
  EXPECT_EQ(b.length(), 0u);
  EXPECT_EQ(c.length(), 131072u + 5 - 7);
}

TEST(BufferImplTest, CommitZeroAddsNothing) {
  OwnedImpl buffer;
  buffer.reserveContiguous(100);
  buffer.commit(0);
  EXPECT_EQ(buffer.length(), 0u);
  EXPECT_EQ(buffer.frontSlice().len, 0u);
  buffer.add("x");
  char* mem = buffer.reserveContiguous(3);
  memcpy(mem, "yz!", 3);
  buffer.commit(2);
  EXPECT_EQ(buffer.toString(), "xyz");
}

TEST(BufferImplTest, ReserveContiguousAndCommit) {
  OwnedImpl buffer("head:");
  char* mem = buffer.reserveContiguous(10000);
  ASSERT_NE(mem, nullptr);
  for (int i = 0; i < 10000; ++i) {
    mem[i] = static_cast<char>('a' + i % 26);
  }
  EXPECT_EQ(buffer.length(), 5u);  // Not part of the buffer before commit.
  buffer.commit(7000);
  ASSERT_EQ(buffer.length(), 7005u);
  const std::string content = buffer.toString();
  EXPECT_EQ(content.substr(0, 8), "head:abc");
  EXPECT_EQ(content.back(), static_cast<char>('a' + 6999 % 26));

  // A zero-length commit leaves the buffer unchanged.
  buffer.reserveContiguous(16);
  buffer.commit(0);
  EXPECT_EQ(buffer.length(), 7005u);
}

}  // namespace
}  // namespace Skiff::Buffer
