#include "services/server/checkpoint_route.h"

#include "events/base/json_text.h"
#include "fmt/format.h"

namespace tori::server {

std::string CheckpointOutcomeJson(const CheckpointOutcome& outcome) {
  std::string list = "[";
  for (const SignedCheckpoint& c : outcome.checkpoints) {
    if (list.size() > 1) list += ",";
    JsonObjectWriter w(list);
    w.Int("partition", c.partition)
        .String("origin", c.origin)
        .Int("tree_size", c.tree_size)
        .String("root", c.root_base64)
        .Raw("unchanged", c.unchanged ? "true" : "false")
        .String("signed_note", c.signed_note);
    w.Close();
  }
  list += "]";
  std::string body;
  JsonObjectWriter w(body);
  w.Raw("checkpoints", list).Int("leaves_added", outcome.leaves_added).Int("events_appended", outcome.events_appended);
  w.Close();
  body += "\n";
  return body;
}

RouteHandler CheckpointHandler(CheckpointSigner sign, std::mutex* state_mutex) {
  return [sign = std::move(sign), state_mutex](const RouteRequest&) {
    if (!sign) {
      return ErrorResponse(409, "NO_CHECKPOINT_KEY",
                           "this tori serve was started without --checkpoint-key: restart it with "
                           "--checkpoint-key HOST.key (from `tori keygen`), or stop it and run `tori "
                           "checkpoint --data DIR --key HOST.key`");
    }
    absl::StatusOr<CheckpointOutcome> outcome;
    {
      std::lock_guard lock(*state_mutex);
      outcome = sign();
    }
    if (!outcome.ok()) {
      return ErrorResponse(500, "CHECKPOINT_FAILED",
                           fmt::format("no checkpoint was signed: {}", std::string(outcome.status().message())));
    }
    HttpResponse response;
    response.content_type = "application/json";
    response.body = CheckpointOutcomeJson(*outcome);
    return response;
  };
}

}  // namespace tori::server
