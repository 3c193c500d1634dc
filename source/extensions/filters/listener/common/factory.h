#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "source/common/network/listener_filter.h"

namespace Skiff::Extensions::ListenerFilters {

/**
 * Turns one `ListenerFilter.typed_config` into a listener filter. Called on main; the returned
 * callback captures only immutable config and runs on workers.
 */
class NamedListenerFilterConfigFactory {
 public:
  virtual ~NamedListenerFilterConfigFactory() = default;
  // Envoy's well-known name, e.g. "envoy.filters.listener.original_dst".
  virtual std::string name() const = 0;
  // The Any type URL of its config, e.g. "type.googleapis.com/envoy...OriginalDst".
  virtual std::string typeUrl() const = 0;
  virtual absl::StatusOr<Network::ListenerFilterCb> createFilter(
      const google::protobuf::Any& typed_config) const = 0;
};

// The listener filters built into this binary, by typed_config type name (after the last '/'
// of the URL); nullptr if none.
const NamedListenerFilterConfigFactory* findListenerFilterFactory(const std::string& type_url);
// By well-known name, for a ListenerFilter without typed_config (Envoy accepts that for filters
// whose config is empty); nullptr if none.
const NamedListenerFilterConfigFactory* findListenerFilterFactoryByName(const std::string& name);

}  // namespace Skiff::Extensions::ListenerFilters
