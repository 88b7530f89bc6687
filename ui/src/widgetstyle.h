#pragma once
// Small look-and-feel helpers shared by the views, so secondary text, headings and statistic
// cards look the same everywhere.
#include <QFont>
#include <QString>

class QColor;
class QFormLayout;
class QFrame;
class QLabel;
class QWidget;

namespace moin::ui {

/// `base` at `factor` times its point size, bold or not.
QFont scaledFont(const QFont& base, qreal factor, bool bold = false);
/// `base` at `factor` times its point size with `weight`.
QFont scaledFont(const QFont& base, qreal factor, QFont::Weight weight);

/// `a` mixed with `b`, `percentA` percent of `a`.
QColor mixColours(const QColor& a, const QColor& b, int percentA);

/// Secondary text: between `widget`'s text and background colour, still easy to read.
QColor mutedColour(const QWidget* widget);

/// A label in the secondary text colour, its font scaled by `scale`.
QLabel* mutedLabel(const QString& text = {}, qreal scale = 1.0);

/// A statistic card: a large number over a muted caption on the base colour, with `tip` as its
/// tooltip. `*value` receives the number's label (named `objectName` for tests).
QFrame* statCard(QLabel** value, const char* objectName, const QString& caption,
                 const QString& tip, int verticalMargin = 8);

/// Adds "label: field" to `form` with the same tooltip on both; the field is named
/// `objectName` (for tests) and the label is its buddy. Returns the label.
QLabel* addFormRow(QFormLayout* form, const QString& label, QWidget* field,
                   const char* objectName, const QString& tip);

} // namespace moin::ui
