#pragma once

#include "source/common/network/address.h"
#include "source/common/network/listener_filter.h"

namespace Skiff::Extensions::ListenerFilters::OriginalDst {

// Where the original destination of an accepted socket comes from. Production uses
// Network::originalDestination (SO_ORIGINAL_DST); unit tests pass a fake, since a real one needs
// iptables.
using OriginalDstGetter = Network::Address::InstanceConstSharedPtr (*)(int fd);

/**
 * The `envoy.filters.listener.original_dst` listener filter: when iptables redirected the
 * connection, its local address becomes the destination the client asked for. A connection that
 * was not redirected (no conntrack entry, or the original destination is the socket's own
 * address) is left as it is, so the listener serves it itself. Stateless; any worker thread.
 */
Network::ListenerFilterCb createOriginalDstFilter(OriginalDstGetter getter);

}  // namespace Skiff::Extensions::ListenerFilters::OriginalDst
