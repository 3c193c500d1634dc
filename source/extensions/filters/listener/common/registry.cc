#include "source/common/config/utility.h"
#include "source/extensions/filters/listener/common/factory.h"
#include "source/extensions/filters/listener/original_dst/config.h"

namespace Skiff::Extensions::ListenerFilters {
namespace {

const NamedListenerFilterConfigFactory* const* factories(size_t& count) {
  static const OriginalDst::OriginalDstConfigFactory original_dst;
  static const NamedListenerFilterConfigFactory* const kFactories[] = {&original_dst};
  count = std::size(kFactories);
  return kFactories;
}

}  // namespace

const NamedListenerFilterConfigFactory* findListenerFilterFactory(const std::string& type_url) {
  size_t count;
  const auto* all = factories(count);
  // By the message's full name (what follows the last '/'), as protobuf's UnpackTo and Envoy do.
  const absl::string_view type_name = Config::typeNameFromUrl(type_url);
  for (size_t i = 0; i < count; ++i) {
    if (Config::typeNameFromUrl(all[i]->typeUrl()) == type_name) {
      return all[i];
    }
  }
  return nullptr;
}

const NamedListenerFilterConfigFactory* findListenerFilterFactoryByName(const std::string& name) {
  size_t count;
  const auto* all = factories(count);
  for (size_t i = 0; i < count; ++i) {
    if (all[i]->name() == name) {
      return all[i];
    }
  }
  return nullptr;
}

}  // namespace Skiff::Extensions::ListenerFilters
