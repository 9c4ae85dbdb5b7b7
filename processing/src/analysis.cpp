#include "livernode/processing/analysis.h"
namespace livernode::processing {
AnalysisResult analyse(const StudyInput&, const AnalysisOptions&) { return {}; }
}
