// Runs ../shared/peppol/validate (the UBL 2.1 schema, the CEN EN 16931 and the Peppol BIS
// Billing 3.0 rules, as a Peppol access point checks them) on UBL files the tests wrote.
// The script's path comes from the build (TORI_PEPPOL_VALIDATE, CMake cache variable of
// the same name: ../shared/peppol/validate beside the source directory by default). It
// needs java, maven (it fetches Saxon-HE and SchXslt once) and xmllint; without them the
// tests fail, never skip. Runs are serialised with flock: the script keeps its compiled
// rules and scratch output in one cache directory shared by every process.
#ifndef TORI_TESTS_PEPPOL_VALIDATE_H_
#define TORI_TESTS_PEPPOL_VALIDATE_H_

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace tori::testing {

struct PeppolVerdict {
  int exit_code = -1;
  std::string output;  // every failed rule, or "valid: N file(s) pass ..."
};

inline PeppolVerdict PeppolValidate(const std::vector<std::string>& files) {
  std::string command = "flock /tmp/tori-peppol-validate.lock '" TORI_PEPPOL_VALIDATE "'";
  for (const auto& file : files) command += " '" + file + "'";
  command += " 2>&1";
  PeppolVerdict verdict;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return verdict;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    verdict.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  verdict.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return verdict;
}

}  // namespace tori::testing

#endif  // TORI_TESTS_PEPPOL_VALIDATE_H_
