#include "logging_setup.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/spi/logevent.h"

namespace livernode::node {

namespace {

spdlog::level::level_enum spdlog_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::trace:
      return spdlog::level::trace;
    case config::LogLevel::debug:
      return spdlog::level::debug;
    case config::LogLevel::info:
      return spdlog::level::info;
    case config::LogLevel::warn:
      return spdlog::level::warn;
    case config::LogLevel::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// %* in a pattern: the message escaped as the inside of a JSON string.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* hex = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        for (char e : {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]}) dest.push_back(e);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// DCMTK's own log messages (oflog) into the node's log, in its format (text or JSON) instead
// of DCMTK's "E: ..." lines on standard error.
class DcmtkToSpdlog : public dcmtk::log4cplus::Appender {
 public:
  DcmtkToSpdlog() { name = "livernode"; }
  ~DcmtkToSpdlog() override { destructorImpl(); }
  void close() override { closed = true; }

 protected:
  void append(const dcmtk::log4cplus::spi::InternalLoggingEvent& event) override {
    std::string text = event.getMessage().c_str();
    for (char& c : text) {
      if (c == '\n' || c == '\r') c = ' ';
      if (c == '"') c = '\'';
    }
    const auto ll = event.getLogLevel();
    const auto level = ll >= dcmtk::log4cplus::ERROR_LOG_LEVEL  ? spdlog::level::err
                       : ll >= dcmtk::log4cplus::WARN_LOG_LEVEL ? spdlog::level::warn
                       : ll >= dcmtk::log4cplus::INFO_LOG_LEVEL ? spdlog::level::info
                                                                : spdlog::level::debug;
    spdlog::log(level, "event=dcmtk_message module={} message=\"{}\"",
                event.getLoggerName().c_str(), text);
  }
};

}  // namespace

void setup_logging(const config::LoggingConfig& logging) {
  std::shared_ptr<spdlog::logger> logger;
  if (logging.file.empty()) {
    logger = std::make_shared<spdlog::logger>("livernode",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>(
        "livernode",
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(logging.file.string(), false));
  }
  if (logging.format == config::LogFormat::json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog_level(logging.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  // DCMTK's own messages (to standard error) only for warnings, unless debugging.
  OFLog::configure(logging.level == config::LogLevel::trace   ? OFLogger::DEBUG_LOG_LEVEL
                   : logging.level == config::LogLevel::debug ? OFLogger::INFO_LOG_LEVEL
                                                              : OFLogger::WARN_LOG_LEVEL);
  dcmtk::log4cplus::Logger root = dcmtk::log4cplus::Logger::getRoot();
  root.removeAllAppenders();
  root.addAppender(dcmtk::log4cplus::SharedAppenderPtr(new DcmtkToSpdlog));
}

}  // namespace livernode::node
