// The writer of `tori serve` in-process (write_routes.h), on a real embedded log and
// RocksDB state: posts held in one group commit are judged in queue order, each line
// at its place, also an intake's scope.
#include "services/server/write_routes.h"

#include <filesystem>
#include <thread>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const char kReferenceData[] =
    R"({"event_id":"a1","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"}
{"event_id":"a2","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"}
{"event_id":"p1","type":"service_point_opened","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"6500"}
{"event_id":"p2","type":"service_point_opened","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"kala","name":"Kalajarvi","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"300"}
)";

std::string Contact(const std::string& id, const std::string& point) {
  return fmt::format(
      R"({{"event_id":"r-{0}","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"{0}","service_point_id":"{1}","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":60}})",
      id, point);
}
std::string Void(const std::string& id) {
  return fmt::format(
      R"({{"event_id":"v-{0}","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"{0}","reason":"x"}})",
      id);
}

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-writer-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    log_ = *EmbeddedLog::Open((dir_ / "log").string());
    state_ = *StateStore::Open((dir_ / "state").string());
    ASSERT_TRUE(IngestLines(kReferenceData, *log_, *state_).ok());
    writer_ = std::make_unique<Writer>(
        WriterOptions{.log = log_.get(), .state = state_.get(), .state_mutex = &state_mutex_, .access = &access_});
    host_.role = Role::kHost;
    host_.agency_id = "espoo";
    intake_.role = Role::kIntake;
    intake_.service_point_id = "iso";
    for (const auto& spec : kRouteTable) {
      if (spec.method == "POST" && spec.pattern == "/v1/events") route_ = &spec;
    }
  }
  void TearDown() override {
    writer_.reset();
    log_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  HttpResponse Post(const AccessGrant& caller, const std::string& body) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/v1/events";
    request.body = body;
    return writer_->Handlers().at("POST /v1/events")(RouteRequest{request, *route_, &caller, {}, {}});
  }
  // Posts `bodies` (caller, body) while the state is held, each once the one before is
  // queued, so that one group commit takes them all, in this order.
  std::vector<HttpResponse> PostInOneGroup(const std::vector<std::pair<const AccessGrant*, std::string>>& bodies) {
    std::vector<HttpResponse> answers(bodies.size());
    std::vector<std::thread> posts;
    {
      std::lock_guard hold(state_mutex_);
      for (size_t i = 0; i < bodies.size(); ++i) {
        posts.emplace_back([&, i] { answers[i] = Post(*bodies[i].first, bodies[i].second); });
        while (writer_->queued_writes() < i + 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (auto& post : posts) post.join();
    return answers;
  }

  fs::path dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
  std::mutex state_mutex_;
  InMemoryAccessList access_;
  std::unique_ptr<Writer> writer_;
  AccessGrant host_, intake_;
  const RouteSpec* route_ = nullptr;
};

TEST_F(WriterTest, AnIntakeVoidsItsContactPostedInAnotherRequestOfTheSameGroup) {
  const auto answers = PostInOneGroup({{&intake_, Contact("c1", "iso") + "\n"}, {&intake_, Void("c1") + "\n"}});
  EXPECT_THAT(answers[0].body, HasSubstr(R"("accepted":1,)"));
  EXPECT_THAT(answers[1].body, HasSubstr(R"("accepted":1,)")) << answers[1].body;
  EXPECT_EQ(log_->End(), (LogPosition{{6}}));
}

TEST_F(WriterTest, AnIntakeMayNotVoidAnotherPointsContactPostedInTheSameGroup) {
  // The host records c2 at kala; the intake of iso voids it in the same group commit.
  const auto answers = PostInOneGroup({{&host_, Contact("c2", "kala") + "\n"}, {&intake_, Void("c2") + "\n"}});
  EXPECT_THAT(answers[0].body, HasSubstr(R"("accepted":1,)"));
  EXPECT_THAT(answers[1].body, HasSubstr(R"("rejected":1,)"));
  EXPECT_THAT(answers[1].body, HasSubstr(R"("reason":"FORBIDDEN","field":"contact_id")"));
  EXPECT_EQ(log_->End(), (LogPosition{{5}}));
}

TEST_F(WriterTest, RecordingAnotherPointsContactIdAgainDoesNotLetAnIntakeVoidIt) {
  ASSERT_THAT(Post(host_, Contact("c8", "kala") + "\n").body, HasSubstr(R"("accepted":1,)"));
  // The same contact id recorded at iso under another event_id is a conflict, so c8
  // stays kala's, and the void that follows it is forbidden.
  std::string again = Contact("c8", "iso");
  again.replace(again.find("r-c8"), 4, "r-c8-again");
  const std::string answer = Post(intake_, again + "\n" + Void("c8") + "\n").body;
  EXPECT_THAT(answer, HasSubstr(R"({"line":1,"status":"rejected","reason":"DUPLICATE_CONFLICT")")) << answer;
  EXPECT_THAT(answer, HasSubstr(R"({"line":2,"status":"rejected","reason":"FORBIDDEN","field":"contact_id")"));
  EXPECT_EQ(log_->End(), (LogPosition{{5}}));
}

TEST_F(WriterTest, AnIntakesVoidBeforeItsContactInTheGroupIsForbiddenAsUnknown) {
  // Queue order is the order of judgement: the void comes first, when c3 is unknown.
  const auto answers = PostInOneGroup({{&intake_, Void("c3") + "\n"}, {&intake_, Contact("c3", "iso") + "\n"}});
  EXPECT_THAT(answers[0].body, HasSubstr(R"("reason":"FORBIDDEN","field":"contact_id")"));
  EXPECT_THAT(answers[1].body, HasSubstr(R"("accepted":1,)"));
}

TEST_F(WriterTest, AnIntakesBodyIsScopedLineByLineAndNumberedAsSent) {
  const std::string body = Contact("c4", "iso") + "\n\n" + Void("c4") + "\n" + Contact("c5", "kala") + "\n" +
                           R"({"event_id":"a3","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"vero","name":"Vero","kind":"state","business_id":"0245437-2"})" +
                           "\n" + Void("c6") + "\n";
  // In a group after a host's body, so that the intake's lines are not the whole's first.
  const auto answers = PostInOneGroup({{&host_, Contact("c6", "kala") + "\n\n"}, {&intake_, body}});
  const std::string& answer = answers[1].body;
  EXPECT_THAT(answer, HasSubstr(R"("accepted":2,"duplicates":0,"rejected":3,)")) << answer;
  EXPECT_THAT(answer, HasSubstr(R"({"line":1,"status":"accepted")"));
  EXPECT_THAT(answer, HasSubstr(R"({"line":3,"status":"accepted")"));
  EXPECT_THAT(answer, HasSubstr(R"({"line":4,"status":"rejected","reason":"FORBIDDEN","field":"service_point_id")"));
  EXPECT_THAT(answer, HasSubstr(R"({"line":5,"status":"rejected","reason":"FORBIDDEN","field":"type")"));
  EXPECT_THAT(answer, HasSubstr(R"({"line":6,"status":"rejected","reason":"FORBIDDEN","field":"contact_id")"));
}

}  // namespace
}  // namespace tori::server
