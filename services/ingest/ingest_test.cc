// Ingest against a real embedded log and a real RocksDB on disk: the dead-letter
// file's format, idempotent re-ingest, hostile files, and resuming after a crash
// between the log append and the state commit.
#include "services/ingest/ingest.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/projector/projector.h"
#include "services/state/hash_chain.h"
#include "simdjson.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1775000000);  // 2026-03-31

const char kAgency[] =
    R"({"event_id":"a1","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"})";
const char kHost[] =
    R"({"event_id":"a2","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"})";
const char kPoint[] =
    R"({"event_id":"p1","type":"service_point_opened","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"6500"})";

std::string Contact(int i) {
  return fmt::format(
      R"({{"event_id":"c-{0}","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"c{0}","service_point_id":"iso","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":{1}}})",
      i, i % 3600);
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-ingest-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    fs::remove_all(dir_);
  }
  void Open() {
    log_ = *EmbeddedLog::Open((dir_ / "data/log").string());
    state_ = *StateStore::Open((dir_ / "data/state").string());
  }
  void Close() {
    log_.reset();
    state_.reset();
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  absl::StatusOr<IngestSummary> Ingest(const std::string& path) {
    IngestOptions options;
    options.now = kNow;
    options.batch_events_max = 7;  // many batches even in small tests
    return IngestFile(path, *log_, *state_, options);
  }

  static std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
};

TEST_F(IngestTest, SecondRunOfTheSameFileChangesNothing) {
  std::string content = std::string(kAgency) + "\n" + kHost + "\n" + kPoint + "\n";
  for (int i = 0; i < 50; ++i) content += Contact(i) + "\n";
  const std::string path = WriteFile("events.jsonl", content);
  auto first = Ingest(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->Line(), "accepted 53, duplicates 0, rejected 0");
  const auto log_bytes = fs::file_size(dir_ / "data/log" / fmt::format("{:020d}.log", 0));

  auto second = Ingest(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->Line(), "accepted 0, duplicates 53, rejected 0");
  EXPECT_EQ(log_->End(), LogPosition{{53}});
  EXPECT_EQ(fs::file_size(dir_ / "data/log" / fmt::format("{:020d}.log", 0)), log_bytes);
  EXPECT_FALSE(fs::exists(path + ".rejected.jsonl"));
}

TEST_F(IngestTest, WhitespaceOnlyLinesAreSkippedLikeEmptyOnes) {
  const std::string content = std::string(kAgency) + "\n" +  // 1
                              "   \n" +                         // 2, spaces
                              "\t \r\n" +                      // 3, tab, space, CRLF
                              "\n" +                            // 4, empty
                              kHost + "\n" +                    // 5
                              "{not json\n" +                   // 6
                              " ";                              // 7, a space, no newline
  const std::string path = WriteFile("blank.jsonl", content);
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 2, duplicates 0, rejected 1");
  const auto lines = Lines(path + ".rejected.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"line\":6"));
}

TEST_F(IngestTest, RejectedLinesGoToTheDeadLetterFileAndNothingElseIsLost) {
  const std::string content = std::string(kAgency) + "\n" +  // 1
                              "{not json\n" +                  // 2
                              kHost + "\r\n" +                 // 3, CRLF
                              "\n" +                           // 4, blank
                              Contact(1) + "\r\n" +            // 5: unknown point (not yet), CRLF
                              kPoint + "\n" +                  // 6
                              "{\"event_id\":\"\xFF\xFE\"}\n" +  // 7: invalid UTF-8
                              R"({"event_id":"v","type":"contact_voided","occurred_at":"2026-01-01T00:00:00Z","contact_id":"c2","reason":"asiakas 131052-308T"})" "\n" +  // 8
                              Contact(2);                      // 9, no final newline
  const std::string path = WriteFile("mixed.jsonl", content);
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 4, duplicates 0, rejected 4");
  EXPECT_EQ(summary->rejected_path, path + ".rejected.jsonl");

  const auto lines = Lines(path + ".rejected.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  simdjson::dom::parser parser;
  struct Expected {
    int64_t line;
    const char* reason;
    const char* field;
  } expected[] = {{2, "MALFORMED", ""},
                  {5, "UNKNOWN_REFERENCE", "service_point_id"},
                  {7, "MALFORMED", ""},
                  {8, "PERSONAL_DATA", "reason"}};
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    simdjson::dom::element record;
    ASSERT_EQ(parser.parse(lines[i]).get(record), simdjson::SUCCESS);
    EXPECT_EQ(int64_t(record["line"]), expected[i].line);
    EXPECT_EQ(std::string_view(record["reason"]), expected[i].reason);
    EXPECT_EQ(std::string_view(record["field"]), expected[i].field);
    EXPECT_FALSE(std::string_view(record["message"]).empty());
  }
  EXPECT_EQ(std::string_view(parser.parse(lines[0])["raw"]), "{not json");
  // Read again from the file: rejected after parsing.
  EXPECT_EQ(std::string_view(parser.parse(lines[1])["raw"]), Contact(1));
  EXPECT_EQ(std::string_view(parser.parse(lines[2])["raw"]), "{\"event_id\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");
  // The personal identity code never reaches the dead-letter file either.
  EXPECT_THAT(lines[3], Not(HasSubstr("131052-308T")));
  EXPECT_THAT(lines[3], HasSubstr("***********"));
}

// Issue #15.6: a file saved by Excel or Notepad starts with a UTF-8 byte-order mark; it
// belongs to no event, so the first line and those referring to it are accepted.
TEST_F(IngestTest, AByteOrderMarkBeforeTheFirstLineIsNoPartOfIt) {
  std::string content = "\xEF\xBB\xBF" + std::string(kAgency) + "\r\n" + kHost + "\r\n" +
                        kPoint + "\r\n";
  for (int i = 0; i < 5; ++i) content += Contact(i) + "\r\n";
  const std::string path = WriteFile("excel.jsonl", content);
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 8, duplicates 0, rejected 0");
  EXPECT_EQ(summary->ReasonsLine(), "");
}

// Only the file's start may carry the mark; a rejected first line's raw text in the
// dead-letter record starts after it (it is read again from the file at its offset).
TEST_F(IngestTest, ARejectedFirstLineAfterAByteOrderMarkKeepsItsOwnBytes) {
  const std::string path = WriteFile(
      "bom.jsonl", "\xEF\xBB\xBF" + Contact(1) + "\n" + "\xEF\xBB\xBF" + std::string(kAgency) + "\n");
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 0, duplicates 0, rejected 2");
  EXPECT_EQ(summary->ReasonsLine(), "rejected by reason: MALFORMED 1, UNKNOWN_REFERENCE 1");
  const auto lines = Lines(path + ".rejected.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  simdjson::dom::parser parser;
  EXPECT_EQ(std::string_view(parser.parse(lines[0])["raw"].get_string().value()), Contact(1));
}

TEST_F(IngestTest, AUtf16FileIsRefusedWithHowToConvertIt) {
  const std::string path = WriteFile("utf16.jsonl", std::string("\xFF\xFE{\0\n\0", 6));
  auto summary = Ingest(path);
  ASSERT_FALSE(summary.ok());
  EXPECT_THAT(summary.status().message(), HasSubstr("UTF-16"));
  EXPECT_THAT(summary.status().message(), HasSubstr("iconv -f utf-16 -t utf-8"));
}

// Latin-1 lines are counted apart, so the console can say how to convert the file.
TEST_F(IngestTest, RejectionsAreCountedPerReasonAndLinesNotInUtf8Apart) {
  const std::string path = WriteFile(
      "latin1.jsonl", std::string(kAgency) + "\n" + "{\"event_id\":\"x\",\"name\":\"\xE4\"}\n" +
                          Contact(1) + "\n" + Contact(2) + "\n" + "{nope\n");
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 1, duplicates 0, rejected 4");
  EXPECT_EQ(summary->ReasonsLine(), "rejected by reason: MALFORMED 2, UNKNOWN_REFERENCE 2");
  EXPECT_EQ(summary->not_utf8_lines, 1u);
}

TEST_F(IngestTest, ALineRejectedAfterParsingFromAPipeKeepsItsBytes) {
  // A pipe cannot be read again: its lines are kept for the dead-letter record.
  const std::string fifo = (dir_ / "events.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] {
    std::ofstream(fifo, std::ios::binary) << kAgency << "\n" << Contact(1) << "\n";
  });
  auto summary = Ingest(fifo);
  writer.join();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 1, duplicates 0, rejected 1");
  const auto lines = Lines(fifo + ".rejected.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  simdjson::dom::parser parser;
  EXPECT_EQ(std::string_view(parser.parse(lines[0])["raw"]), Contact(1));
}

TEST_F(IngestTest, HostileFilesNeitherCrashNorHang) {
  const std::string deep = std::string(20'000, '[') + std::string(20'000, ']');
  const std::string huge = R"({"event_id":")" + std::string(10 << 20, 'x') + R"("})";
  const std::string path =
      WriteFile("hostile.jsonl", deep + "\n" + huge + "\n" + std::string(kAgency) + "\n");
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 1, duplicates 0, rejected 2");
  const auto lines = Lines(path + ".rejected.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("longer than the limit"));
  EXPECT_GT(lines[1].size(), size_t{10} << 20);  // the raw line is kept whole

  auto empty = Ingest(WriteFile("empty.jsonl", ""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Line(), "accepted 0, duplicates 0, rejected 0");
}

TEST_F(IngestTest, MissingFileIsAnErrorNamingIt) {
  auto summary = Ingest((dir_ / "nope.jsonl").string());
  ASSERT_FALSE(summary.ok());
  EXPECT_THAT(summary.status().message(), HasSubstr("nope.jsonl"));
}

TEST_F(IngestTest, ResumesAfterACrashBetweenLogAndState) {
  // Simulate the crash: events reach the log but the state never hears of them.
  JsonEventParser parser;
  std::vector<std::string> payloads;
  for (const std::string& line : {std::string(kAgency), std::string(kHost), std::string(kPoint), Contact(1)}) {
    events::Event event;
    ASSERT_FALSE(parser.Parse(line, event).has_value());
    payloads.push_back(event.SerializeAsString());
  }
  std::vector<AppendRecord> records;
  for (const auto& p : payloads) records.push_back({"", p});
  ASSERT_TRUE(log_->Append(records).ok());

  const std::string path = WriteFile("again.jsonl", std::string(kAgency) + "\n" + kHost + "\n" +
                                                        kPoint + "\n" + Contact(1) + "\n" +
                                                        Contact(2) + "\n");
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 1, duplicates 4, rejected 0");
  EXPECT_EQ(state_->applied(), (LogPosition{{5}}));
}

TEST_F(IngestTest, ABodyOfLinesGetsOneOutcomePerLineOnceDurable) {
  // tori serve's POST /v1/events: each non-blank line's number, status and, when
  // rejected, reason, field and message; the accepted ones are in the log and the
  // state when the call returns, and a file ingest after it sees them as duplicates.
  const std::string body = std::string(kAgency) + "\n" + kHost + "\n\n" + kPoint + "\r\n" +
                           Contact(1) + "\n" + Contact(1) + "\n" + "{not json\n" +
                           R"({"event_id":"v1","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"ghost","reason":"x"})";
  auto outcomes = IngestLines(body, *log_, *state_, kNow);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  std::vector<std::string> seen;
  for (const LineOutcome& outcome : *outcomes) {
    seen.push_back(fmt::format("{} {}{}", outcome.line, outcome.StatusName(),
                               outcome.rejection ? " " + std::string(RejectReasonName(outcome.rejection->reason)) + " " + outcome.rejection->field : ""));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1 accepted", "2 accepted", "4 accepted", "5 accepted",
                                            "6 duplicate", "7 rejected MALFORMED ",
                                            "8 rejected UNKNOWN_REFERENCE contact_id"}));
  EXPECT_THAT((*outcomes)[6].rejection->message, HasSubstr("'ghost' is not known"));
  EXPECT_EQ(log_->End(), LogPosition{{4}});
  EXPECT_EQ(state_->applied(), LogPosition{{4}});

  auto again = IngestLines(std::string(kPoint) + "\n" + Contact(2), *log_, *state_, kNow);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].status, LineOutcome::Status::kDuplicate);
  EXPECT_EQ((*again)[1].status, LineOutcome::Status::kAccepted);
  auto summary = Ingest(WriteFile("same.jsonl", body + "\n" + Contact(2) + "\n"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->Line(), "accepted 0, duplicates 6, rejected 2");
}

TEST_F(IngestTest, ABodyOfTooManyLinesIsRefusedWhole) {
  std::string body = std::string(kAgency) + "\n" + kHost + "\n" + kPoint + "\n";
  for (size_t i = 0; i < kIngestLinesMax; ++i) body += Contact(static_cast<int>(i)) + "\n";
  auto outcomes = IngestLines(body, *log_, *state_, kNow);
  EXPECT_TRUE(absl::IsInvalidArgument(outcomes.status())) << outcomes.status();
  EXPECT_EQ(log_->End(), LogPosition{{0}});
}

TEST_F(IngestTest, StateSurvivesReopening) {
  const std::string path = WriteFile("a.jsonl", std::string(kAgency) + "\n" + kHost + "\n" + kPoint + "\n");
  ASSERT_TRUE(Ingest(path).ok());
  Close();
  Open();
  EXPECT_EQ(state_->applied(), (LogPosition{{3}}));
  auto summary = Ingest(WriteFile("b.jsonl", Contact(7) + "\n"));
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->Line(), "accepted 1, duplicates 0, rejected 0");
}

TEST_F(IngestTest, IngestKeepsTheHashChainOfTheWholeLog) {
  // The chain ingest extends over its batches must be the chain of the log's records,
  // also when records were appended between two ingests (here: by AppendEvents, as
  // billing issues its documents) and after a run that rejected and skipped lines.
  std::string first = std::string(kAgency) + "\n" + kHost + "\n" + kPoint + "\n";
  for (int i = 0; i < 40; ++i) first += Contact(i) + "\n";
  ASSERT_TRUE(Ingest(WriteFile("first.jsonl", first)).ok());
  events::Event extra;
  ASSERT_FALSE(JsonEventParser().Parse(Contact(1000), extra));
  ASSERT_TRUE(AppendEvents(*log_, *state_, {extra}).ok());
  std::string second = "not json\n" + Contact(3) + "\n";
  for (int i = 40; i < 90; ++i) second += Contact(i) + "\n";
  ASSERT_TRUE(Ingest(WriteFile("second.jsonl", second)).ok());

  HashChain expected(1);
  auto cursor = *log_->Read(LogPosition{{0}});
  LogRecord record;
  while (*cursor->Next(record)) expected.Extend(record.partition, record.payload);
  auto kept = LoadHashChain(*state_, 1);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->covered(), log_->End());  // ingest brought it to the end itself
  EXPECT_EQ(kept->HeadsText(), expected.HeadsText());
}

TEST_F(IngestTest, AReplayOverSeveralCommitsRebuildsTheIngestedState) {
  // Replays commit every 131,072 events on a third thread: voids of contacts from the
  // batch that is still committing must find them, and the result must equal the
  // state ingest built, entry for entry.
  std::string content = std::string(kAgency) + "\n" + kHost + "\n" + kPoint + "\n";
  uint64_t events = 3;
  for (int i = 0; i < 300'000; ++i) {
    content += Contact(i) + "\n";
    ++events;
    if (i > 10'000 && i % 500 == 0) {
      content += fmt::format(
          R"({{"event_id":"v-{0}","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c{0}","reason":"test"}})",
          i - 10'000);
      content += "\n";
      ++events;
    }
  }
  IngestOptions options;
  options.now = kNow;
  auto summary = IngestFile(WriteFile("many.jsonl", content), *log_, *state_, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(summary->accepted, events);

  auto replayed = StateStore::Open((dir_ / "replayed").string());
  ASSERT_TRUE(replayed.ok());
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  auto applied = CatchUp(*log_, **replayed, {.on_progress = [&](uint64_t done, uint64_t total) {
                                               progress.emplace_back(done, total);
                                             }});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, events);
  EXPECT_EQ(progress, (std::vector<std::pair<uint64_t, uint64_t>>{{131'072, events},
                                                                  {262'144, events}}));
  auto dump = [](StateStore& state) {
    std::string out;
    auto add = [&out](std::string_view key, std::string_view value) {
      out.append(key).append(" = ").append(value).append("\n");
      return true;
    };
    EXPECT_TRUE(state.ScanIndex("", add).ok());
    EXPECT_TRUE(state.ScanProjection("", add).ok());
    return out;
  };
  EXPECT_EQ(dump(**replayed), dump(*state_));
  auto counts = (*replayed)->GetProjection(
      projection::Key(projection::kContacts, {"iso", "2026Q1", "kela", "S"}));
  ASSERT_TRUE(counts.ok() && counts->has_value());
  EXPECT_EQ(projection::ReadCounts(**replayed, projection::Key(projection::kContacts,
                                                                {"iso", "2026Q1", "kela", "S"}),
                                   **counts)
                ->contacts,
            static_cast<int64_t>(300'000 - (events - 3 - 300'000)));  // the voided ones left
}


// The state as text: every index and projection entry.
std::string Dump(StateStore& state) {
  std::string out;
  auto add = [&out](std::string_view key, std::string_view value) {
    out.append(key).append(" = ").append(value).append("\n");
    return true;
  };
  EXPECT_TRUE(state.ScanIndex("", add).ok());
  EXPECT_TRUE(state.ScanProjection("", add).ok());
  return out;
}
std::string DumpProjection(StateStore& state) {
  std::string out;
  EXPECT_TRUE(state
                  .ScanProjection("", [&out](std::string_view key, std::string_view value) {
                    out.append(key).append(" = ").append(value).append("\n");
                    return true;
                  })
                  .ok());
  return out;
}

TEST_F(IngestTest, AReplayAppliesEachEventOfALogWithCopiesOnce) {
  // Two writers that both took one file leave every event twice in the log (issue #14),
  // here interleaved and across a replay's commit (every 131,072 records), plus an
  // event_id reused with other content and a contact id reused under a new event_id.
  // Every replay (writing the event_id index or not, from scratch or onto the state
  // of one of the writers) must give the state of the file taken once.
  constexpr int kContacts = 70'000;
  std::vector<std::string> lines = {kAgency, kHost, kPoint};
  for (int i = 0; i < kContacts; ++i) lines.push_back(Contact(i));
  lines.push_back(
      R"({"event_id":"v-3","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c3","reason":"test"})");
  std::string once;
  for (const auto& line : lines) once += line + "\n";
  IngestOptions options;
  options.now = kNow;
  ASSERT_TRUE(IngestFile(WriteFile("once.jsonl", once), *log_, *state_, options).ok());
  const std::string expected_state = Dump(*state_);

  // The log of two writers: the reference data twice, then both copies of each
  // contact, the second copy a while after the first.
  auto copies = EmbeddedLog::Open((dir_ / "copies/log").string());
  ASSERT_TRUE(copies.ok()) << copies.status();
  JsonEventParser parser;
  auto encode = [&parser](const std::string& line) {
    events::Event event;
    EXPECT_FALSE(parser.Parse(line, event).has_value()) << line;
    return event.SerializeAsString();
  };
  std::vector<std::string> payloads;
  for (int copy = 0; copy < 2; ++copy) {
    for (int i = 0; i < 3; ++i) payloads.push_back(encode(lines[i]));
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    payloads.push_back(encode(lines[i]));
    if (i >= 1003) payloads.push_back(encode(lines[i - 1000]));
  }
  for (size_t i = lines.size() - 1000; i < lines.size(); ++i) payloads.push_back(encode(lines[i]));
  // Conflicts: event c-5 with other content, contact c7 again under a new event_id.
  std::string conflict = Contact(5);
  conflict.replace(conflict.find("\"duration_s\":5"), 14, "\"duration_s\":6");
  payloads.push_back(encode(conflict));
  std::string reused = Contact(7);
  reused.replace(reused.find("\"c-7\""), 5, "\"x-7\"");
  payloads.push_back(encode(reused));
  std::vector<AppendRecord> records;
  for (const auto& p : payloads) records.push_back({"", p});
  ASSERT_TRUE((*copies)->Append(records).ok());
  ASSERT_GT(records.size(), 131'072u);

  for (EventIdIndex ids : {EventIdIndex::kWrite, EventIdIndex::kSkip}) {
    SCOPED_TRACE(ids == EventIdIndex::kWrite ? "writing event ids" : "skipping event ids");
    fs::remove_all(dir_ / "replayed");
    auto replayed = StateStore::Open((dir_ / "replayed").string());
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    std::vector<SkippedCopy> skipped;
    auto applied = CatchUp(**copies, **replayed,
                           {.event_ids = ids, .on_copy_skipped = [&](const SkippedCopy& copy) {
                              skipped.push_back(copy);
                            }});
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(*applied, lines.size());
    EXPECT_EQ(skipped.size(), records.size() - lines.size());
    ASSERT_FALSE(skipped.empty());
    EXPECT_THAT(skipped.back().why, HasSubstr("DUPLICATE_CONFLICT: event_id 'x-7' creates id 'c7'"));
    EXPECT_EQ(skipped.back().offset, static_cast<int64_t>(records.size()) - 1);
    EXPECT_THAT(skipped[skipped.size() - 2].why, HasSubstr("event_id 'c-5' repeats"));
    EXPECT_EQ(DumpProjection(**replayed), DumpProjection(*state_));
    if (ids == EventIdIndex::kWrite) {
      EXPECT_EQ(Dump(**replayed), expected_state);
    }
    replayed->reset();
  }

  // A state that holds the ids before its replay (the other writer's copies arrive
  // after it caught up) asks the index: it stays as it was.
  ASSERT_TRUE((*copies)->Append(records).ok());
  state_.reset();
  fs::remove_all(dir_ / "data/state");
  state_ = *StateStore::Open((dir_ / "data/state").string());
  const LogPosition first_half{{static_cast<int64_t>(records.size())}};
  ASSERT_TRUE(CatchUp(**copies, *state_, {.until = first_half}).ok());
  ASSERT_EQ(Dump(*state_), expected_state);
  auto more = CatchUp(**copies, *state_);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(*more, 0u);
  EXPECT_EQ(Dump(*state_), expected_state);
}

TEST_F(IngestTest, AReplayUntilAnInstantEndsBeforeTheFirstLaterEvent) {
  // `bill --as-of DATE` reads the log once: the replay itself ends the partition at its
  // first event that occurred later, even where an earlier one follows it.
  std::string early = Contact(2);
  early.replace(early.find("2026-02-01"), 10, "2026-01-15");
  const std::string body = std::string(kAgency) + "\n" + kHost + "\n" + kPoint + "\n" +
                           Contact(1) + "\n" + early + "\n";
  auto outcomes = IngestLines(body, *log_, *state_, kNow);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(log_->End(), (LogPosition{{5}}));

  auto replayed = StateStore::Open((dir_ / "replayed").string());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  auto applied = CatchUp(*log_, **replayed,
                         {.until_occurred = absl::FromUnixSeconds(1768867200),  // 2026-01-20
                          .event_ids = EventIdIndex::kSkip});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 3u);  // the reference data; contact c1 (1 February) ends the log
  EXPECT_EQ((*replayed)->applied(), (LogPosition{{3}}));
  auto counts = (*replayed)->GetProjection(
      projection::Key(projection::kContacts, {"iso", "2026Q1", "kela", "S"}));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_FALSE(counts->has_value());  // neither contact: the earlier one came after the cut

  fs::remove_all(dir_ / "replayed2");
  auto all = StateStore::Open((dir_ / "replayed2").string());
  ASSERT_TRUE(all.ok()) << all.status();
  applied = CatchUp(*log_, **all, {.until_occurred = kNow});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 5u);
  EXPECT_EQ((*all)->applied(), log_->End());
  EXPECT_EQ(Dump(**all), Dump(*state_));
}

TEST_F(IngestTest, ABodyIsJudgedLineForLineAsTheSameFileIs) {
  // POST /v1/events judges a body as a batch (every line parsed first, the index
  // entries read ahead in one MultiGet): the outcomes, the log and the state must be
  // those of `tori ingest` of the same lines, also where the body repeats, conflicts
  // with and changes what an earlier line of it (or an earlier body) wrote.
  std::vector<std::string> first = {kAgency, kHost, kPoint, Contact(1), Contact(2)};
  std::vector<std::string> body_lines = {
      Contact(2),                                   // a duplicate of an earlier body's
      Contact(3),                                   // new
      Contact(3),                                   // a duplicate within the body
      Contact(4),                                   // new; the next line reuses its event_id
      R"({"event_id":"c-4","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"c4","service_point_id":"iso","agency_id":"kela","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":4})",
      R"({"event_id":"c-x","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"c3","service_point_id":"iso","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":9})",
      R"({"event_id":"k1","type":"contact_corrected","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c3","changes":{"channel":"in_person"},"reason":"x"})",
      R"({"event_id":"v1","type":"contact_voided","occurred_at":"2026-02-02T11:00:00Z","contact_id":"c3","reason":"x"})",
      R"({"event_id":"v2","type":"contact_voided","occurred_at":"2026-02-02T12:00:00Z","contact_id":"c3","reason":"again"})",
      R"({"event_id":"v3","type":"contact_voided","occurred_at":"2026-02-02T12:00:00Z","contact_id":"c1","reason":"stored"})",
      R"({"event_id":"v4","type":"contact_voided","occurred_at":"2026-02-02T12:00:00Z","contact_id":"ghost","reason":"x"})",
      "{not json",
      "",
      R"({"event_id":"c-9","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"c9","service_point_id":"nowhere","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":9})",
      Contact(6),
  };
  auto join = [](const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
  };

  auto outcomes = IngestLines(join(first), *log_, *state_, kNow);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  outcomes = IngestLines(join(body_lines), *log_, *state_, kNow);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  std::vector<std::string> seen;
  for (const LineOutcome& outcome : *outcomes) {
    seen.push_back(fmt::format("{} {}{}", outcome.line, outcome.StatusName(),
                               outcome.rejection ? " " + std::string(RejectReasonName(outcome.rejection->reason)) : ""));
  }
  const std::string body_state = Dump(*state_);
  const LogPosition body_end = log_->End();
  std::vector<std::string> body_log;
  {
    auto cursor = *log_->Read(LogPosition{{0}});
    LogRecord record;
    while (*cursor->Next(record)) body_log.emplace_back(record.payload);
  }

  // The same lines by `tori ingest`, into a fresh data directory.
  Close();
  fs::rename(dir_ / "data", dir_ / "by-body");
  Open();
  ASSERT_TRUE(Ingest(WriteFile("first.jsonl", join(first))).ok());
  const std::string path = WriteFile("body.jsonl", join(body_lines));
  auto summary = Ingest(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  std::vector<std::string> expected(body_lines.size() + 1, "");
  for (const std::string& record : Lines(path + ".rejected.jsonl")) {
    simdjson::dom::parser parser;
    simdjson::dom::element e = parser.parse(record);
    const auto line = static_cast<size_t>(int64_t(e["line"]));
    expected[line] = fmt::format("{} rejected {}", line, std::string_view(e["reason"]));
  }
  size_t accepted = 0, duplicates = 0;
  for (const std::string& s : seen) {
    if (s.find(" accepted") != std::string::npos) ++accepted;
    if (s.find(" duplicate") != std::string::npos) ++duplicates;
    if (s.find(" rejected") != std::string::npos) {
      EXPECT_EQ(expected[std::stoul(s)], s);
    }
  }
  EXPECT_EQ(accepted, summary->accepted);
  EXPECT_EQ(duplicates, summary->duplicates);
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "1 duplicate", "2 accepted", "3 duplicate", "4 accepted",
                      "5 rejected DUPLICATE_CONFLICT", "6 rejected DUPLICATE_CONFLICT", "7 accepted",
                      "8 accepted", "9 rejected INVALID_STATE", "10 accepted", "11 rejected UNKNOWN_REFERENCE",
                      "12 rejected MALFORMED", "14 rejected UNKNOWN_REFERENCE", "15 accepted"}));
  EXPECT_EQ(log_->End(), body_end);
  std::vector<std::string> file_log;
  {
    auto cursor = *log_->Read(LogPosition{{0}});
    LogRecord record;
    while (*cursor->Next(record)) file_log.emplace_back(record.payload);
  }
  EXPECT_EQ(file_log, body_log);
  EXPECT_EQ(Dump(*state_), body_state);
}

}  // namespace
}  // namespace tori
