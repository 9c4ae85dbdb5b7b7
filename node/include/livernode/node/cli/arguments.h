#pragma once
// A small parser for "--name value" / "--flag" command lines with positional arguments.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace livernode::node {

class Arguments {
 public:
  // `valued` lists options that take a value, `flags` those that do not. Throws
  // NodeError (kUsage) with a readable message on an unknown option or a missing value.
  Arguments(const std::vector<std::string>& args, const std::set<std::string>& valued,
            const std::set<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  std::optional<std::string> value(const std::string& name) const;
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace livernode::node
