#include "widgetstyle.h"

#include <QColor>
#include <QFormLayout>
#include <QFrame>
#include <QLabel>
#include <QPalette>
#include <QVBoxLayout>

namespace moin::ui {

QFont scaledFont(const QFont& base, qreal factor, bool bold)
{
    return scaledFont(base, factor, bold ? QFont::Bold : QFont::Normal);
}

QFont scaledFont(const QFont& base, qreal factor, QFont::Weight weight)
{
    QFont font = base;
    font.setPointSizeF(font.pointSizeF() * factor);
    font.setWeight(weight);
    return font;
}

QColor mixColours(const QColor& a, const QColor& b, int percentA)
{
    const auto m = [percentA](int x, int y) { return (x * percentA + y * (100 - percentA)) / 100; };
    return QColor(m(a.red(), b.red()), m(a.green(), b.green()), m(a.blue(), b.blue()));
}

QColor mutedColour(const QWidget* widget)
{
    return mixColours(widget->palette().color(QPalette::WindowText),
                      widget->palette().color(QPalette::Window), 58);
}

QLabel* mutedLabel(const QString& text, qreal scale)
{
    auto* label = new QLabel(text);
    QPalette palette = label->palette();
    palette.setColor(QPalette::WindowText, mutedColour(label));
    label->setPalette(palette);
    if (scale != 1.0)
        label->setFont(scaledFont(label->font(), scale));
    return label;
}

QFrame* statCard(QLabel** value, const char* objectName, const QString& caption,
                 const QString& tip, int verticalMargin)
{
    auto* frame = new QFrame;
    frame->setFrameShape(QFrame::StyledPanel);
    frame->setToolTip(tip);
    frame->setAutoFillBackground(true);
    QPalette palette = frame->palette();
    palette.setColor(QPalette::Window, palette.color(QPalette::Base));
    frame->setPalette(palette);
    *value = new QLabel(QStringLiteral("0"));
    (*value)->setObjectName(objectName);
    (*value)->setFont(scaledFont((*value)->font(), 1.5, true));
    auto* layout = new QVBoxLayout(frame);
    layout->setContentsMargins(12, verticalMargin, 12, verticalMargin);
    layout->setSpacing(0);
    layout->addWidget(*value);
    layout->addWidget(mutedLabel(caption));
    return frame;
}

QLabel* addFormRow(QFormLayout* form, const QString& label, QWidget* field,
                   const char* objectName, const QString& tip)
{
    field->setObjectName(QLatin1String(objectName));
    field->setToolTip(tip);
    auto* caption = new QLabel(label);
    caption->setToolTip(tip);
    caption->setBuddy(field);
    form->addRow(caption, field);
    return caption;
}

} // namespace moin::ui
