#include "source/common/access_log/file_access_log_impl.h"

namespace Skiff::AccessLog {

void FileAccessLogImpl::log(const Formatter::Context& context) {
  thread_local std::string line;
  line.clear();
  formatter_->format(context, line);
  file_->write(line);
}

}  // namespace Skiff::AccessLog
