#pragma once

// CPU sets for thread affinity: parsing the command line's "0,2-3" lists and applying a set to
// the calling thread. Used by --control-plane-cpus, which keeps main, the control thread and
// everything they start (gRPC's threads, the access-log flusher) on some CPUs while the workers
// may run on all of them.
//
// Thread: a CpuSet is a value; applyToCallingThread() changes only the thread that calls it
// (threads it creates afterwards inherit the set, as Linux does).

#include <sched.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace Skiff::Thread {

class CpuSet {
 public:
  CpuSet();

  // "N", "N-M" and comma-separated lists of them (taskset -c's and cpuset's form), each CPU
  // number below CPU_SETSIZE; errors name the bad item.
  static absl::StatusOr<CpuSet> parse(absl::string_view list);
  // The CPUs the calling thread may run on now.
  static CpuSet ofCallingThread();

  void add(int cpu);
  bool contains(int cpu) const;
  int count() const;
  // Every CPU of this set is in `other`.
  bool isSubsetOf(const CpuSet& other) const;
  // The shortest list form, e.g. "0-3,6".
  std::string toString() const;

  absl::Status applyToCallingThread() const;

 private:
  cpu_set_t set_;
};

}  // namespace Skiff::Thread
