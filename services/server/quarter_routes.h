// POST /v1/quarters/{quarter}/bill and POST /v1/quarters/{quarter}/approve (SPEC
// sections 7 and 8): `tori bill --by` and `tori approve --by` for a host's token.
//
// The person is the token's name (AccessGrant::name); `?by=NAME` may repeat it (ASCII
// case and surrounding spaces aside), never name someone else (403 NOT_YOUR_NAME), and
// names the person only for a grant without a name. A host bills only a quarter of
// service points it hosts all of: 404 when it hosts none of the state's points, 403
// OTHER_HOSTS when another host has points too (the run would show and issue that
// host's documents; bill it with the command line). The answer is the run's
// invoices.json byte for byte as the command line writes it (draft-invoices.json for a
// preparation), with header X-Tori-Quarter-State: prepared or issued. Errors: 400
// (quarter, person), 403 OWN_PREPARATION (the preparer approving), 409 CONFLICT
// (not prepared, issued already, two approvals needed and no person), 500 otherwise.
//
// Thread safety: the caller holds the state's mutex.
#ifndef TORI_SERVICES_SERVER_QUARTER_ROUTES_H_
#define TORI_SERVICES_SERVER_QUARTER_ROUTES_H_

#include <string>

#include "events/log/event_log.h"
#include "services/server/router.h"
#include "services/state/state_store.h"

namespace tori::server {

// `approve`: the approve route, else bill. Files go to `scratch_dir` (emptied).
HttpResponse BillQuarter(const RouteRequest& request, EventLog& log, StateStore& state,
                         const std::string& scratch_dir, bool approve);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_QUARTER_ROUTES_H_
