// Every word the portal shows, in Finnish, Swedish and English: one table
// (portal_strings.cc), one row per Text, so a missing translation is a compile error
// (the table's size is checked against Text::kCount) and translators read one file.
//
// Thread safety: constant data.
#ifndef TORI_SERVICES_SERVER_PORTAL_STRINGS_H_
#define TORI_SERVICES_SERVER_PORTAL_STRINGS_H_

#include <optional>
#include <string_view>

namespace tori::server {

enum class Lang { kFi, kSv, kEn };
std::string_view LangCode(Lang lang);                     // "fi", "sv", "en"
std::optional<Lang> ParseLang(std::string_view code);     // "fi", "sv", "en"; else nullopt
// The best of fi, sv, en by an Accept-Language header (RFC 9110 section 12.5.4: tags
// with q-values; "sv-FI" counts as "sv"); Finnish when it names none of them.
Lang LangOfAcceptLanguage(std::string_view header);

enum class Text {
  kAppTitle,
  kLanguageName,  // the language's own name ("suomi")
  kLogIn,
  kLogOut,
  kToken,
  kLoginHint,
  kLoginFailed,
  kSignedInAs,
  kQuarters,
  kQuarter,
  kState,
  kStateIssued,
  kStatePrepared,
  kInvoices,
  kInvoice,
  kInvoiceNumber,
  kReferenceNumber,
  kIssuer,
  kRecipient,
  kTotal,
  kAsOf,
  kLines,
  kLine,
  kServicePoint,
  kPool,
  kKey,
  kWeight,
  kBasis,
  kAmount,
  kExplanation,
  kDownloads,
  kProof,
  kReport,
  kReconcile,
  kReconcileHint,
  kAgency,
  kContactsFile,
  kContactsCsv,
  kRun,
  kMatched,
  kDifferences,
  kContact,
  kStatus,
  kDetail,
  kAllMatch,
  kShownFirst,
  kVerify,
  kVerifyHint,
  kDocument,
  kEventsReplayed,
  kLiveState,
  kOk,
  kDiffers,
  kNoQuarters,
  kNotFound,
  kForbidden,
  kCsrfFailed,
  kBadRequest,
  kIntakeNothing,
  kBack,
  kCount  // not a text: the number of texts
};

std::string_view T(Text text, Lang lang);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_PORTAL_STRINGS_H_
