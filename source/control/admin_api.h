#pragma once

// skiff-control's admin API for operating without files (what `skiffctl apply/delete/get` use):
//
//   POST   /apply?group=G[&source=NAME]      body: a resources document (YAML or JSON, the shape of
//                                            a config-dir file), or {"documents": [{"source":
//                                            NAME, "content": TEXT}, ...]} for several files
//   DELETE /resources?group=G&kind=K&name=N  one applied resource; or a body as for /apply naming
//                                            the resources to delete; &ignore_not_found=true
//   GET    /listeners|/clusters|/endpoints|/routes[?group=G][&name=N]
//
// Semantics (kubectl apply's, over skiff-control's groups):
// - Applied resources form an in-memory layer per group over the group's files. Applying a
//   resource creates it, or replaces the applied resource of the same kind and name; an applied
//   resource shadows the file resource of the same kind and name until it is deleted. A group
//   may consist of applied resources only (it is created by the first apply).
// - Every change is validated together with the group's current files exactly like a file change.
//   Invalid: 400 with every error ("where: resource: field: reason"), nothing changes. Valid: one
//   new snapshot version, pushed to the group's sidecars.
// - A request is atomic: all its resources are applied (or deleted), or none.
// - The layer lives in memory: it is lost when skiff-control restarts. Durable configuration
//   belongs in the config directory (a ConfigMap).
//
// Responses are JSON. Credentials: admin_auth.h (mutating calls need a configured token).
//
// Thread: the admin server's thread (skiff-control: main), which also runs ConfigDirSource.

#include "source/common/http/admin_server.h"
#include "source/control/admin_auth.h"
#include "source/control/config_dir.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control {

// Registers the endpoints above on `admin`. Everything passed must outlive `admin`.
void registerResourceApi(Http::Admin::AdminServer& admin, ConfigDirSource& config,
                         SnapshotCache& cache, AdminCredentials& credentials);

// A group name the API accepts: what can also be a config-dir subdirectory (non-empty, at most
// 253 characters, no '/', not starting with '.', no control characters).
bool isValidGroupName(absl::string_view group);

}  // namespace Skiff::Control
