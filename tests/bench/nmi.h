#pragma once
// Agreement of two labellings of the same points, for the benchmarks' quality figures.
#include <cmath>
#include <map>
#include <utility>
#include <vector>

namespace moin::bench {

/// Normalised mutual information with the arithmetic-mean normalisation (scikit-learn's
/// default): MI(a, b) / ((H(a) + H(b)) / 2); 1 when the labellings agree up to renaming.
inline double nmi(const std::vector<int>& a, const std::vector<int>& b)
{
    const double n = double(a.size());
    std::map<int, double> ca, cb;
    std::map<std::pair<int, int>, double> joint;
    for (size_t i = 0; i < a.size(); ++i) {
        ca[a[i]] += 1;
        cb[b[i]] += 1;
        joint[{a[i], b[i]}] += 1;
    }
    auto entropy = [&](const std::map<int, double>& counts) {
        double h = 0;
        for (const auto& [key, c] : counts)
            h -= c / n * std::log(c / n);
        return h;
    };
    double mi = 0;
    for (const auto& [key, c] : joint)
        mi += c / n * std::log(c * n / (ca[key.first] * cb[key.second]));
    const double mean = (entropy(ca) + entropy(cb)) / 2;
    return mean > 0 ? mi / mean : 1.0;
}

} // namespace moin::bench
