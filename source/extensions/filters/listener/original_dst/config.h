#pragma once

#include "source/extensions/filters/listener/common/factory.h"

namespace Skiff::Extensions::ListenerFilters::OriginalDst {

// Builds `envoy.filters.listener.original_dst` from its (empty) OriginalDst config.
class OriginalDstConfigFactory : public NamedListenerFilterConfigFactory {
 public:
  std::string name() const override { return "envoy.filters.listener.original_dst"; }
  std::string typeUrl() const override;
  absl::StatusOr<Network::ListenerFilterCb> createFilter(
      const google::protobuf::Any& typed_config) const override;
};

}  // namespace Skiff::Extensions::ListenerFilters::OriginalDst
