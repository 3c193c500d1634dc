#include "source/common/thread_local/thread_local.h"

namespace Skiff::ThreadLocal {
namespace {
thread_local int t_worker_index = -1;
}  // namespace

int currentWorkerIndex() { return t_worker_index; }
void setCurrentWorkerIndex(int index) { t_worker_index = index; }

}  // namespace Skiff::ThreadLocal
