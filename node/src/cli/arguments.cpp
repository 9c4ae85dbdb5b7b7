#include "livernode/node/cli/arguments.h"

#include <stdexcept>

#include "livernode/node/error.h"

namespace livernode::node {

Arguments::Arguments(const std::vector<std::string>& args, const std::set<std::string>& valued,
                     const std::set<std::string>& flags) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), inline_value;
    const auto eq = name.find('=');
    const bool has_inline = eq != std::string::npos;
    if (has_inline) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (flags.count(name) && !has_inline) {
      flags_.insert(name);
    } else if (valued.count(name)) {
      if (has_inline) {
        values_[name] = inline_value;
      } else if (i + 1 < args.size()) {
        values_[name] = args[++i];
      } else {
        throw NodeError(NodeErrorKind::kUsage, "option --" + name + " needs a value");
      }
    } else {
      throw NodeError(NodeErrorKind::kUsage, "unknown option --" + name);
    }
  }
}

std::optional<std::string> Arguments::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

}  // namespace livernode::node
