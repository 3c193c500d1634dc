#pragma once

#include "source/common/access_log/access_log.h"

namespace Skiff::AccessLog {

/**
 * A format and an output file: Envoy's file, stdout and stderr access loggers (which differ only
 * in the file). log() formats into a per-thread buffer, reused, and hands the line to the file.
 */
class FileAccessLogImpl : public Instance {
 public:
  FileAccessLogImpl(Formatter::FormatterConstSharedPtr formatter, AccessLogFileSharedPtr file)
      : formatter_(std::move(formatter)), file_(std::move(file)) {}

  void log(const Formatter::Context& context) override;

 private:
  const Formatter::FormatterConstSharedPtr formatter_;
  const AccessLogFileSharedPtr file_;
};

}  // namespace Skiff::AccessLog
