// The portal's pure parts: escaping, the language of a request, the strings table.
#include "services/server/portal.h"

#include "gtest/gtest.h"

namespace tori::server {
namespace {

TEST(PortalTest, EscapesEveryCharacterThatOpensMarkupOrEndsAnAttribute) {
  EXPECT_EQ(HtmlEscape("<img src=x onerror='a(1)'>\"&"), "&lt;img src=x onerror=&#39;a(1)&#39;&gt;&quot;&amp;");
  EXPECT_EQ(HtmlEscape("Kela – Folkpensionsanstalten"), "Kela – Folkpensionsanstalten");
}

TEST(PortalTest, AcceptLanguageChoosesTheBestOfFinnishSwedishAndEnglish) {
  EXPECT_EQ(LangOfAcceptLanguage("sv-FI,sv;q=0.9,en;q=0.8"), Lang::kSv);
  EXPECT_EQ(LangOfAcceptLanguage("de-DE,en;q=0.5,fi;q=0.7"), Lang::kFi);
  EXPECT_EQ(LangOfAcceptLanguage("en-GB"), Lang::kEn);
  EXPECT_EQ(LangOfAcceptLanguage("de, fr"), Lang::kFi);  // none of ours: Finnish
  EXPECT_EQ(LangOfAcceptLanguage(""), Lang::kFi);
  EXPECT_EQ(LangOfAcceptLanguage("sv;q=bogus, en;q=0.1"), Lang::kEn);
}

TEST(PortalTest, EveryTextHasAllThreeLanguages) {
  for (int i = 0; i < static_cast<int>(Text::kCount); ++i) {
    for (Lang lang : {Lang::kFi, Lang::kSv, Lang::kEn}) {
      EXPECT_FALSE(T(static_cast<Text>(i), lang).empty()) << i << " " << LangCode(lang);
    }
  }
  EXPECT_EQ(T(Text::kLogIn, Lang::kSv), "Logga in");
}

TEST(PortalTest, OwnsTheRootAndPortalPathsOnly) {
  EXPECT_TRUE(Portal::Owns("/"));
  EXPECT_TRUE(Portal::Owns("/?lang=sv"));
  EXPECT_TRUE(Portal::Owns("/portal/invoices/x"));
  EXPECT_FALSE(Portal::Owns("/portalx"));
  EXPECT_FALSE(Portal::Owns("/v1/invoices"));
  EXPECT_FALSE(Portal::Owns("/healthz"));
}

}  // namespace
}  // namespace tori::server
