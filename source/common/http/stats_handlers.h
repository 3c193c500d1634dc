#pragma once

#include "source/common/http/admin_server.h"
#include "source/common/stats/stats.h"

namespace Skiff::Http::Admin {

/**
 * Registers Envoy's stats endpoints on `admin`, reading from `store` (which must outlive it):
 *   /stats                   text "name: value"; ?format=json|prometheus|text, ?filter=<regex>,
 *                            ?usedonly
 *   /stats/prometheus        Prometheus text v0.0.4; ?filter=, ?usedonly
 * A bad ?filter regex or an unknown ?format is a 400 that says what was wrong.
 * Main thread (the admin server's thread).
 */
void registerStatsHandlers(AdminServer& admin, const Stats::Store& store);

}  // namespace Skiff::Http::Admin
