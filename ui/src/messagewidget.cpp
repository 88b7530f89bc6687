#include "messagewidget.h"
#include "widgetstyle.h"

#include <QFontMetrics>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLayout>
#include <QLocale>
#include <QMouseEvent>
#include <QRegularExpression>
#include <QVBoxLayout>

#include <algorithm>

namespace moin::ui {

namespace {
/// Bubble padding (pixels) left/right and top/bottom, and its corner radius.
constexpr int kBubblePadX = 13;
constexpr int kBubblePadY = 9;
constexpr int kBubbleRadius = 12;
/// A bubble is at most this share of the transcript's width.
constexpr double kBubbleShare = 0.78;
constexpr QChar kCaret(0x258D); // ▍

QString colourName(QRgb rgb) { return QColor::fromRgb(rgb).name(); }

/// Lays its items out left to right and wraps them onto new lines (Qt's flow layout example,
/// reduced): chips of a badge in a narrow comparison column.
class FlowLayout : public QLayout {
public:
    FlowLayout(int hSpacing, int vSpacing) : m_hSpace(hSpacing), m_vSpace(vSpacing)
    {
        setContentsMargins(0, 0, 0, 0);
    }
    ~FlowLayout() override
    {
        while (QLayoutItem* item = takeAt(0))
            delete item;
    }
    void addItem(QLayoutItem* item) override { m_items.append(item); }
    int count() const override { return int(m_items.size()); }
    QLayoutItem* itemAt(int index) const override { return m_items.value(index); }
    QLayoutItem* takeAt(int index) override
    {
        return index >= 0 && index < m_items.size() ? m_items.takeAt(index) : nullptr;
    }
    Qt::Orientations expandingDirections() const override { return {}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override { return arrange(QRect(0, 0, width, 0), true); }
    void setGeometry(const QRect& rect) override
    {
        QLayout::setGeometry(rect);
        arrange(rect, false);
    }
    QSize sizeHint() const override
    {
        // One line: as wide as every item side by side.
        int width = 0;
        int height = 0;
        for (QLayoutItem* item : m_items) {
            if (item->isEmpty())
                continue;
            width += item->sizeHint().width() + (width > 0 ? m_hSpace : 0);
            height = std::max(height, item->sizeHint().height());
        }
        const QMargins m = contentsMargins();
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom());
    }
    QSize minimumSize() const override
    {
        QSize size;
        for (QLayoutItem* item : m_items)
            size = size.expandedTo(item->minimumSize());
        const QMargins m = contentsMargins();
        return size + QSize(m.left() + m.right(), m.top() + m.bottom());
    }

private:
    int arrange(const QRect& rect, bool testOnly) const
    {
        const QMargins m = contentsMargins();
        const QRect area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom());
        int y = area.y();
        QList<QLayoutItem*> line;
        int lineWidth = 0;
        int lineHeight = 0;
        // Items of one line share its middle: chips and plain labels differ in height.
        const auto place = [&] {
            if (!testOnly) {
                int x = area.x();
                for (QLayoutItem* item : std::as_const(line)) {
                    const QSize hint = item->sizeHint();
                    const int width = std::min(hint.width(), area.width());
                    item->setGeometry(QRect(x, y + (lineHeight - hint.height()) / 2, width,
                                            hint.height()));
                    x += width + m_hSpace;
                }
            }
            y += lineHeight + m_vSpace;
            line.clear();
            lineWidth = 0;
            lineHeight = 0;
        };
        for (QLayoutItem* item : m_items) {
            if (item->isEmpty())
                continue;
            const QSize hint = item->sizeHint();
            if (!line.isEmpty() && lineWidth + m_hSpace + hint.width() > area.width())
                place();
            lineWidth += (line.isEmpty() ? 0 : m_hSpace) + hint.width();
            lineHeight = std::max(lineHeight, hint.height());
            line.append(item);
        }
        if (!line.isEmpty())
            place();
        const int used = y - m_vSpace - area.y();
        return std::max(used, 0) + m.top() + m.bottom();
    }

    QList<QLayoutItem*> m_items;
    int m_hSpace;
    int m_vSpace;
};
} // namespace

namespace {
QString fullText(const QLabel* label)
{
    const auto* chip = qobject_cast<const Chip*>(label);
    return chip ? chip->fullText() : label->text();
}
} // namespace

QString expertTitle(int expert, const QString& keywords)
{
    return keywords.isEmpty() ? AnswerBadge::tr("Expert %1").arg(expert)
                              : AnswerBadge::tr("Expert %1 · %2").arg(expert).arg(keywords);
}

QString joinKeywords(const std::vector<std::string>& keywords, int count)
{
    QStringList words;
    for (const std::string& word : keywords) {
        if (words.size() >= count)
            break;
        words << QString::fromStdString(word);
    }
    return words.join(QStringLiteral(", "));
}

int AnswerInfo::expert() const
{
    bool ok = false;
    const int id = answeredBy.toInt(&ok);
    return ok ? id : -1;
}

// ---------------------------------------------------------------------------------------------

Chip::Chip(const QString& text, Tone tone, QWidget* parent) : QLabel(text, parent), m_text(text)
{
    setTextFormat(Qt::PlainText);
    setFont(scaledFont(font(), 0.92));
    setTone(tone);
    setMinimumWidth(fontMetrics().height() * 2);
}

QSize Chip::sizeHint() const
{
    // As wide as the whole text, also while it is shown elided.
    const QSize shown = QLabel::sizeHint();
    const QFontMetrics metrics(font());
    return QSize(shown.width() - metrics.horizontalAdvance(QLabel::text())
                     + metrics.horizontalAdvance(m_text),
                 shown.height());
}

void Chip::resizeEvent(QResizeEvent* event)
{
    QLabel::resizeEvent(event);
    const QFontMetrics metrics(font());
    // Room for the text: the width less the padding and border of the style sheet.
    const int chrome = QLabel::sizeHint().width() - metrics.horizontalAdvance(QLabel::text());
    const int room = width() - chrome;
    const QString shown = metrics.horizontalAdvance(m_text) <= room
                              ? m_text
                              : metrics.elidedText(m_text, Qt::ElideRight, room);
    if (shown != QLabel::text())
        QLabel::setText(shown);
    if (shown != m_text && toolTip().isEmpty())
        setToolTip(m_text);
}

void Chip::setTone(Tone tone)
{
    m_tone = tone;
    struct Colours {
        QRgb background, border, text;
        bool bold;
    };
    Colours c{0xffffff, 0xd3d7dc, 0x3b4148, false};
    switch (tone) {
    case Tone::Expert: c = {0xe6effa, 0xa9c7ea, 0x0f4a8a, true}; break;
    case Tone::Base: c = {0xeeeef1, 0xc6c7cd, 0x33343a, true}; break;
    case Tone::Neutral: c = {0xffffff, 0xd3d7dc, 0x3b4148, false}; break;
    case Tone::Quiet: c = {0xf3f4f6, 0xe0e3e7, 0x57606a, false}; break;
    case Tone::Warning: c = {0xfff3e0, 0xeec27f, 0x8a4b00, true}; break;
    }
    const int radius = (fontMetrics().height() + 4) / 2;
    setStyleSheet(QStringLiteral("QLabel { background: %1; border: 1px solid %2; color: %3; "
                                 "border-radius: %4px; padding: 1px 8px; font-weight: %5; }")
                      .arg(colourName(c.background), colourName(c.border), colourName(c.text))
                      .arg(radius)
                      .arg(c.bold ? 600 : 400));
}

// ---------------------------------------------------------------------------------------------

AnswerBadge::AnswerBadge(QWidget* parent) : QFrame(parent)
{
    setObjectName("answerBadge");
    setAttribute(Qt::WA_Hover);
    auto* flow = new FlowLayout(5, 4);
    flow->setContentsMargins(4, 3, 4, 3);
    setLayout(flow);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

void AnswerBadge::clearChips()
{
    for (QLabel* chip : std::as_const(m_chips))
        delete chip;
    m_chips.clear();
}

QString AnswerBadge::expertText() const
{
    return m_chips.isEmpty() ? QString() : fullText(m_chips.constFirst());
}

QString AnswerBadge::summary() const
{
    QStringList texts;
    for (const QLabel* chip : m_chips)
        texts << fullText(chip);
    return texts.join(QStringLiteral(" | "));
}

void AnswerBadge::setInfo(const AnswerInfo& info)
{
    m_info = info;
    clearChips();
    const auto add = [this](QLabel* label) {
        layout()->addWidget(label);
        m_chips << label;
        return label;
    };
    const QLocale locale;
    const int expert = info.expert();
    const bool forced = info.expertChoice != QLatin1String("auto") && !info.expertChoice.isEmpty();
    const QString number2 = QStringLiteral("%1");

    if (expert >= 0) {
        QLabel* chip = add(new Chip(expertTitle(expert, info.keywords), Chip::Tone::Expert));
        chip->setObjectName("expertChip");
        chip->setToolTip(forced ? tr("Answered by expert %1's adapter, chosen in the settings")
                                      .arg(expert)
                                : tr("Answered by expert %1's adapter: the router sent the "
                                     "question to its cluster")
                                      .arg(expert));
    } else {
        QLabel* chip = add(new Chip(tr("Base model"), Chip::Tone::Base));
        chip->setObjectName("expertChip");
        chip->setToolTip(tr("Answered by the base model alone, without an expert's adapter"));
    }
    if (forced && m_showChoice)
        add(new Chip(tr("chosen"), Chip::Tone::Quiet))
            ->setToolTip(tr("This answer's expert was chosen in the settings, not routed"));

    // For the base: where the router would have sent the question.
    int shownExpert = expert;
    if (expert < 0 && !info.candidates.isEmpty()) {
        const auto& [nearest, distance] = info.candidates.constFirst();
        shownExpert = nearest;
        QLabel* chip = add(new Chip(tr("nearest: %1 · %2")
                                        .arg(nearest)
                                        .arg(locale.toString(double(distance), 'f', 2)),
                                    Chip::Tone::Neutral));
        chip->setToolTip(info.expertChoice == QLatin1String("auto")
                             ? tr("The router chose expert %1, which has no trained adapter "
                                  "yet, so the base model answered")
                                   .arg(nearest)
                             : tr("The router would have chosen expert %1").arg(nearest));
    } else if (std::isfinite(info.distance)) {
        add(new Chip(tr("distance %1").arg(locale.toString(info.distance, 'f', 2)),
                     Chip::Tone::Neutral))
            ->setToolTip(tr("Distance of the question to the expert's cluster centre in "
                            "embedding space (smaller is closer)"));
    }

    bool first = true;
    for (const auto& [candidate, distance] : info.candidates) {
        if (candidate == shownExpert)
            continue;
        if (first) {
            add(mutedLabel(tr("runner-ups"), 0.92));
            first = false;
        }
        add(new Chip(number2.arg(candidate) + QStringLiteral(" · ")
                         + locale.toString(double(distance), 'f', 2),
                     Chip::Tone::Quiet))
            ->setToolTip(tr("Expert %1 at distance %2")
                             .arg(candidate)
                             .arg(locale.toString(double(distance), 'f', 3)));
    }

    if (info.stopReason == QLatin1String("cancelled")) {
        add(new Chip(tr("stopped"), Chip::Tone::Warning))
            ->setToolTip(tr("Stopped before the answer was complete"));
    } else if (info.stopReason == QLatin1String("length")) {
        add(new Chip(tr("max tokens"), Chip::Tone::Quiet))
            ->setToolTip(tr("The answer reached the maximum number of tokens (or the end of "
                            "the model's context)"));
    }

    QStringList stats;
    stats << (info.completionTokens == 1 ? tr("1 token")
                                         : tr("%1 tokens").arg(locale.toString(
                                               info.completionTokens)));
    if (info.tokensPerSecond > 0)
        stats << tr("%1 tok/s").arg(locale.toString(info.tokensPerSecond, 'f', 1));
    if (info.latencySeconds > 0)
        stats << tr("%1 s").arg(locale.toString(info.latencySeconds, 'f', 2));
    QLabel* statsLabel = add(mutedLabel(stats.join(QStringLiteral(" · ")), 0.92));
    statsLabel->setObjectName("statsLabel");
    statsLabel->setToolTip(tr("Tokens generated, decoding speed, and the time from sending to "
                              "the last token"));

    m_clickable = !info.candidates.isEmpty();
    setCursor(m_clickable ? Qt::PointingHandCursor : Qt::ArrowCursor);
    setFocusPolicy(m_clickable ? Qt::TabFocus : Qt::NoFocus);
    setToolTip(m_clickable ? tr("Click to show where this question went on the cluster map")
                           : QString());
    setStyleSheet(m_clickable
                      ? QStringLiteral("QFrame#answerBadge { border: 1px solid transparent; "
                                       "border-radius: 12px; } "
                                       "QFrame#answerBadge:hover, QFrame#answerBadge:focus { "
                                       "border-color: #c3d4e9; background: #f3f8fd; }")
                      : QString());
    updateGeometry();
}

void AnswerBadge::mousePressEvent(QMouseEvent* event)
{
    m_pressed = event->button() == Qt::LeftButton;
    QFrame::mousePressEvent(event);
}

void AnswerBadge::mouseReleaseEvent(QMouseEvent* event)
{
    const bool click = m_pressed && event->button() == Qt::LeftButton
                       && rect().contains(event->position().toPoint());
    m_pressed = false;
    if (click && m_clickable)
        emit clicked();
    QFrame::mouseReleaseEvent(event);
}

void AnswerBadge::keyPressEvent(QKeyEvent* event)
{
    if (m_clickable && (event->key() == Qt::Key_Space || event->key() == Qt::Key_Return
                        || event->key() == Qt::Key_Enter)) {
        emit clicked();
        return;
    }
    QFrame::keyPressEvent(event);
}

// ---------------------------------------------------------------------------------------------

Bubble::Bubble(Kind kind, QWidget* parent) : QFrame(parent), m_kind(kind)
{
    setObjectName("bubble");
    m_label = new QLabel;
    m_label->setObjectName("bubbleText");
    m_label->setTextFormat(Qt::PlainText);
    m_label->setWordWrap(true);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_label->setCursor(Qt::IBeamCursor);
    m_label->setFont(scaledFont(m_label->font(), 1.08));
    m_label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(kBubblePadX, kBubblePadY, kBubblePadX, kBubblePadY);
    layout->addWidget(m_label);
    setKind(kind);
    updateLabel();
}

void Bubble::setKind(Kind kind)
{
    m_kind = kind;
    QRgb background = 0xf3f4f6, border = 0xe1e4e8, text = 0x1d1d1f;
    if (kind == Kind::User) {
        background = 0xdcebfb;
        border = 0xb9d5f1;
        text = 0x10263d;
    } else if (kind == Kind::Error) {
        background = 0xfdecea;
        border = 0xf0b9b4;
        text = 0x8c1d18;
    }
    setStyleSheet(QStringLiteral("QFrame#bubble { background: %1; border: 1px solid %2; "
                                 "border-radius: %3px; } "
                                 "QLabel#bubbleText { color: %4; background: transparent; }")
                      .arg(colourName(background), colourName(border))
                      .arg(kBubbleRadius)
                      .arg(colourName(text)));
}

void Bubble::setText(const QString& text)
{
    m_text = text;
    m_naturalWidth = 0;
    updateLabel();
}

void Bubble::appendText(const QString& text)
{
    m_text += text;
    updateLabel();
}

void Bubble::setStreaming(bool streaming)
{
    m_streaming = streaming;
    updateLabel();
}

void Bubble::updateLabel()
{
    // Runs of empty lines (frequent in a small model's text) shown as one: the bubble stays
    // readable; text() keeps every line.
    static const QRegularExpression blankLines(QStringLiteral("\n[ \t]*(\n[ \t]*){2,}"));
    QString shown = m_text;
    shown.replace(blankLines, QStringLiteral("\n\n"));
    // A QLabel wraps only at spaces: a long run without one (a URL, a hash, a small model's
    // noise) would push the bubble past its column. A zero-width space every kLongRun
    // characters of such a run gives the label places to break; text() keeps the original.
    constexpr int kLongRun = 32;
    int run = 0;
    for (int i = 0; i < shown.size(); ++i) {
        run = shown.at(i).isSpace() ? 0 : run + 1;
        if (run == kLongRun) {
            shown.insert(i + 1, QChar(0x200B));
            ++i;
            run = 0;
        }
    }
    if (m_streaming)
        shown += m_text.isEmpty() ? QString(kCaret) : QStringLiteral(" ") + kCaret;
    m_label->setText(shown);
    updateWidth();
}

void Bubble::setAvailableWidth(int width)
{
    m_available = std::max(width, 80);
    updateWidth();
}

void Bubble::updateWidth()
{
    const int chrome = 2 * kBubblePadX + 2;
    const int widest = m_fill ? m_available
                              : std::max(120, int(m_available * kBubbleShare));
    if (!m_fill && m_naturalWidth + chrome < widest) {
        // Short texts get a bubble their size; measured only until the bubble is full width.
        const QFontMetrics metrics(m_label->font());
        int natural = 0;
        for (const QString& line : m_label->text().split(QLatin1Char('\n')))
            natural = std::max(natural, metrics.horizontalAdvance(line));
        m_naturalWidth = natural + 4; // rounding of the label's own layout
    }
    const int width = m_fill ? widest : std::min(widest, std::max(m_naturalWidth + chrome, 48));
    setFixedWidth(width);
    // Layouts with alignment do not ask a word-wrapped label for its height at a width: the
    // bubble is told its height outright.
    const int frame = frameWidth();
    const int inner = width - 2 * kBubblePadX - 2 * frame;
    int textHeight = m_label->heightForWidth(inner);
    if (textHeight < 0)
        textHeight = m_label->sizeHint().height();
    setFixedHeight(textHeight + 2 * kBubblePadY + 2 * frame);
}

// ---------------------------------------------------------------------------------------------

UserMessage::UserMessage(const QString& text, QWidget* parent) : TranscriptItem(parent)
{
    setObjectName("userMessage");
    m_bubble = new Bubble(Bubble::Kind::User);
    m_bubble->setText(text);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addStretch(1);
    layout->addWidget(m_bubble, 0, Qt::AlignRight | Qt::AlignTop);
}

QString UserMessage::text() const { return m_bubble->text(); }

void UserMessage::setAvailableWidth(int width) { m_bubble->setAvailableWidth(width); }

// ---------------------------------------------------------------------------------------------

AssistantMessage::AssistantMessage(const QString& heading, QWidget* parent)
    : TranscriptItem(parent)
{
    setObjectName("assistantMessage");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    if (!heading.isEmpty()) {
        m_heading = mutedLabel(heading, 0.95);
        m_heading->setObjectName("answerHeading");
        QFont font = m_heading->font();
        font.setWeight(QFont::DemiBold);
        m_heading->setFont(font);
        layout->addWidget(m_heading);
    }
    m_bubble = new Bubble(Bubble::Kind::Assistant);
    layout->addWidget(m_bubble, 0, Qt::AlignLeft);
    m_working = mutedLabel(QString(), 0.92);
    m_working->setObjectName("workingLabel");
    m_working->hide();
    layout->addWidget(m_working);
    m_badge = new AnswerBadge;
    m_badge->setShowChoice(heading.isEmpty());
    m_badge->hide();
    layout->addWidget(m_badge);
    connect(m_badge, &AnswerBadge::clicked, this, [this] {
        const AnswerInfo& info = m_badge->info();
        const int expert = info.expert() >= 0 ? info.expert()
                           : info.candidates.isEmpty() ? -1
                                                       : info.candidates.constFirst().first;
        if (expert >= 0)
            emit routeRequested(expert, info.query, info.candidates);
    });
}

void AssistantMessage::appendText(const QString& text) { m_bubble->appendText(text); }

void AssistantMessage::setText(const QString& text) { m_bubble->setText(text); }

QString AssistantMessage::text() const { return m_bubble->text(); }

void AssistantMessage::setStreaming(bool streaming, const QString& who)
{
    m_streaming = streaming;
    m_bubble->setStreaming(streaming);
    m_working->setText(who);
    m_working->setVisible(streaming && !who.isEmpty());
    if (streaming)
        m_badge->hide();
}

void AssistantMessage::setInfo(const AnswerInfo& info)
{
    m_badge->setInfo(info);
    m_badge->show();
}

void AssistantMessage::setError(const QString& message)
{
    setStreaming(false);
    const QString text = m_bubble->text();
    m_bubble->setKind(Bubble::Kind::Error);
    m_bubble->setText(text.isEmpty() ? message : text + QStringLiteral("\n\n") + message);
}

void AssistantMessage::setFill(bool fill)
{
    m_fill = fill;
    m_bubble->setFill(fill);
}

void AssistantMessage::setAvailableWidth(int width)
{
    m_bubble->setAvailableWidth(width);
    m_badge->setMaximumWidth(width);
}

// ---------------------------------------------------------------------------------------------

ComparisonRow::ComparisonRow(const QString& leftHeading, const QString& rightHeading,
                             QWidget* parent)
    : TranscriptItem(parent)
{
    setObjectName("comparisonRow");
    m_left = new AssistantMessage(leftHeading);
    m_right = new AssistantMessage(rightHeading);
    m_left->setObjectName("comparisonLeft");
    m_right->setObjectName("comparisonRight");
    m_left->setFill(true);
    m_right->setFill(true);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(14);
    layout->addWidget(m_left, 1, Qt::AlignTop);
    layout->addWidget(m_right, 1, Qt::AlignTop);
}

void ComparisonRow::setAvailableWidth(int width)
{
    const int column = std::max(80, (width - layout()->spacing()) / 2);
    m_left->setAvailableWidth(column);
    m_right->setAvailableWidth(column);
}

} // namespace moin::ui
