#include "events/base/json_text.h"

#include "gtest/gtest.h"

namespace tori {
namespace {

std::string Quoted(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quoted("line\nnext\t\x01"), R"("line\nnext\t\u0001")");
}

TEST(AppendJsonString, KeepsValidUtf8) { EXPECT_EQ(Quoted("Kalajärvi €"), "\"Kalajärvi €\""); }

TEST(AppendJsonString, ReplacesInvalidUtf8WithReplacementCharacter) {
  EXPECT_EQ(Quoted("a\xFF" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(Quoted("\xC3"), "\"\xEF\xBF\xBD\"");            // truncated sequence
  EXPECT_EQ(Quoted("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  EXPECT_EQ(Quoted("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST(JsonObjectWriter, WritesFieldsInOrder) {
  std::string out;
  JsonObjectWriter w(out);
  w.Int("line", 3).String("reason", "SCHEMA").Raw("x", "[1]");
  w.Close();
  EXPECT_EQ(out, R"({"line":3,"reason":"SCHEMA","x":[1]})");
}

}  // namespace
}  // namespace tori
