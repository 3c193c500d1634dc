#include "source/extensions/filters/listener/original_dst/original_dst.h"

namespace Skiff::Extensions::ListenerFilters::OriginalDst {

Network::ListenerFilterCb createOriginalDstFilter(OriginalDstGetter getter) {
  return [getter](Network::AcceptedSocket& socket) {
    Network::Address::InstanceConstSharedPtr original = getter(socket.fd());
    if (original == nullptr || *original == *socket.localAddress()) {
      return;
    }
    socket.restoreLocalAddress(std::move(original));
  };
}

}  // namespace Skiff::Extensions::ListenerFilters::OriginalDst
