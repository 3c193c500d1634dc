#include "source/common/common/cpu_set.h"

#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace Skiff::Thread {
namespace {

absl::StatusOr<int> parseCpu(absl::string_view text, absl::string_view item) {
  int cpu = 0;
  if (!absl::SimpleAtoi(text, &cpu) || cpu < 0 || cpu >= CPU_SETSIZE) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", item, "\" is not a CPU number or range (0-", CPU_SETSIZE - 1, ")"));
  }
  return cpu;
}

}  // namespace

CpuSet::CpuSet() { CPU_ZERO(&set_); }

absl::StatusOr<CpuSet> CpuSet::parse(absl::string_view list) {
  CpuSet out;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (std::count(item.begin(), item.end(), '-') > 1) {
      return absl::InvalidArgumentError(absl::StrCat("\"", item, "\" is not a CPU range"));
    }
    const std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(item, '-');
    auto first = parseCpu(range.first, item);
    if (!first.ok()) {
      return first.status();
    }
    int last = *first;
    if (item.find('-') != absl::string_view::npos) {
      auto end = parseCpu(range.second, item);
      if (!end.ok()) {
        return end.status();
      }
      if (*end < *first) {
        return absl::InvalidArgumentError(absl::StrCat("\"", item, "\" is a backwards range"));
      }
      last = *end;
    }
    for (int cpu = *first; cpu <= last; ++cpu) {
      out.add(cpu);
    }
  }
  return out;
}

CpuSet CpuSet::ofCallingThread() {
  CpuSet out;
  // Cannot fail for the calling thread with a full-size set.
  sched_getaffinity(0, sizeof(out.set_), &out.set_);
  return out;
}

void CpuSet::add(int cpu) { CPU_SET(cpu, &set_); }

bool CpuSet::contains(int cpu) const {
  return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set_);
}

int CpuSet::count() const { return CPU_COUNT(&set_); }

bool CpuSet::isSubsetOf(const CpuSet& other) const {
  cpu_set_t both;
  CPU_AND(&both, &set_, &other.set_);
  return CPU_EQUAL(&both, &set_);
}

std::string CpuSet::toString() const {
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!contains(cpu)) {
      continue;
    }
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && contains(last + 1)) {
      ++last;
    }
    absl::StrAppend(&out, out.empty() ? "" : ",", cpu);
    if (last > cpu) {
      absl::StrAppend(&out, "-", last);
    }
    cpu = last;
  }
  return out;
}

absl::Status CpuSet::applyToCallingThread() const {
  // pthread_setaffinity_np returns the error instead of setting errno.
  if (const int error = pthread_setaffinity_np(pthread_self(), sizeof(set_), &set_); error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot run on CPUs ", toString(), ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace Skiff::Thread
