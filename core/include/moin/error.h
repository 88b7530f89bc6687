#pragma once
#include <stdexcept>
#include <string>
namespace moin {
/// An error a user can act on: the message says what was expected, what was found, and what to do.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};
} // namespace moin
