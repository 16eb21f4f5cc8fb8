// Answers shared by the write routes (write_routes.cc, access_routes.cc).
#ifndef TORI_SERVICES_SERVER_INTERNAL_WRITE_ANSWERS_H_
#define TORI_SERVICES_SERVER_INTERNAL_WRITE_ANSWERS_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "services/server/http_server.h"

namespace tori::server::write_internal {

inline HttpResponse Json(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The answer when the log or the state failed: nothing of the request is acknowledged.
inline HttpResponse WriteFailed(const absl::Status& status) {
  if (absl::IsFailedPrecondition(status)) {
    // Kafka: another process is the topic's writer, and regaining it failed.
    HttpResponse r = ErrorResponse(
        503, "NOT_THE_WRITER",
        fmt::format("this serve can no longer write to the log ({}); nothing of the request was taken: send it "
                    "to the serve that writes now, or restart this one",
                    std::string(status.message())));
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  return ErrorResponse(500, "WRITE_FAILED",
                       fmt::format("nothing of the request was acknowledged ({}); send it again: the events "
                                   "already taken then count as duplicates",
                                   std::string(status.message())));
}

}  // namespace tori::server::write_internal

#endif  // TORI_SERVICES_SERVER_INTERNAL_WRITE_ANSWERS_H_
