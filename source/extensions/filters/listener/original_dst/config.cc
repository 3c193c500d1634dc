#include "source/extensions/filters/listener/original_dst/config.h"

#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "source/common/network/io_handle.h"
#include "source/extensions/filters/listener/original_dst/original_dst.h"

namespace Skiff::Extensions::ListenerFilters::OriginalDst {

using ProtoOriginalDst = envoy::extensions::filters::listener::original_dst::v3::OriginalDst;

std::string OriginalDstConfigFactory::typeUrl() const {
  return absl::StrCat("type.googleapis.com/", ProtoOriginalDst::descriptor()->full_name());
}

absl::StatusOr<Network::ListenerFilterCb> OriginalDstConfigFactory::createFilter(
    const google::protobuf::Any& typed_config) const {
  ProtoOriginalDst proto;
  if (!typed_config.type_url().empty() && !typed_config.UnpackTo(&proto)) {
    return absl::InvalidArgumentError("typed_config: cannot decode OriginalDst");
  }
  return createOriginalDstFilter(&Network::originalDestination);
}

}  // namespace Skiff::Extensions::ListenerFilters::OriginalDst
