#pragma once
// The pieces of a chat transcript: message bubbles, the badge that says which expert answered,
// and a side-by-side comparison of two answers to one question.
#include <QFrame>
#include <QLabel>
#include <QList>
#include <QPair>
#include <QString>
#include <QWidget>

#include <cmath>

class QHBoxLayout;
class QVBoxLayout;

namespace moin::ui {

/// A trained expert as the chat names it.
struct ExpertLabel {
    int id = 0;
    /// Its cluster's first keywords, comma separated.
    QString keywords;
};

/// "Expert 3 · compiler, parser, kernel" (or "Expert 3" without keywords).
QString expertTitle(int expert, const QString& keywords);
/// The first `count` of `keywords`, comma separated.
QString joinKeywords(const std::vector<std::string>& keywords, int count = 3);

/// Who answered a message and how; what the badge shows.
struct AnswerInfo {
    /// "base" or the expert id that answered; empty while nobody has.
    QString answeredBy;
    /// What was asked for: "auto", "base" or an expert id.
    QString expertChoice;
    /// The answering expert's keywords (empty for the base).
    QString keywords;
    /// Distance of the question to the answering expert's centroid (NaN: unknown or base).
    double distance = std::nan("");
    /// The router's nearest experts, best first: (expert, distance). Empty without a router.
    QList<QPair<int, float>> candidates;
    /// The question that was routed.
    QString query;
    int completionTokens = 0;
    double tokensPerSecond = 0;
    double latencySeconds = 0;
    /// "eos", "length", "cancelled", ... .
    QString stopReason;

    /// The expert that answered, or -1 for the base (or nobody yet).
    int expert() const;
};

/// A rounded label: `tone` picks its colours.
class Chip : public QLabel {
    Q_OBJECT
public:
    enum class Tone { Expert, Base, Neutral, Quiet, Warning };
    explicit Chip(const QString& text, Tone tone = Tone::Neutral, QWidget* parent = nullptr);
    void setTone(Tone tone);
    Tone tone() const { return m_tone; }
    /// The whole text; text() is elided when the chip is narrower than it.
    QString fullText() const { return m_text; }
    QSize sizeHint() const override;

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    QString m_text;
    Tone m_tone = Tone::Neutral;
};

/// Under an answer: the expert that gave it, its distance, the runner-ups, speed and latency.
/// Clicking it (or Space/Enter on it) asks for the question's route on the cluster map.
class AnswerBadge : public QFrame {
    Q_OBJECT
public:
    explicit AnswerBadge(QWidget* parent = nullptr);
    void setInfo(const AnswerInfo& info);
    const AnswerInfo& info() const { return m_info; }
    /// Whether a "chosen" chip marks answers whose expert was chosen, not routed (default on;
    /// off where a heading says it already).
    void setShowChoice(bool show) { m_showChoice = show; }
    /// The text of the first chip: "Expert 3 · compiler, parser, kernel" or "Base model".
    QString expertText() const;
    /// Every chip's text, in order, joined by " | " (for tests and accessibility).
    QString summary() const;
    /// True when a click can show something on the map (the router gave candidates).
    bool isClickable() const { return m_clickable; }

signals:
    void clicked();

protected:
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void clearChips();

    AnswerInfo m_info;
    bool m_showChoice = true;
    bool m_clickable = false;
    bool m_pressed = false;
    QList<QLabel*> m_chips;
};

/// One item of the transcript; told how wide the transcript is so that bubbles wrap well.
class TranscriptItem : public QWidget {
    Q_OBJECT
public:
    using QWidget::QWidget;
    virtual void setAvailableWidth(int width) = 0;
};

/// The text of one message in a rounded box; selectable, plain text.
class Bubble : public QFrame {
    Q_OBJECT
public:
    enum class Kind { User, Assistant, Error };
    explicit Bubble(Kind kind, QWidget* parent = nullptr);
    void setText(const QString& text);
    void appendText(const QString& text);
    QString text() const { return m_text; }
    /// Shows a caret after the text (and a placeholder while there is none).
    void setStreaming(bool streaming);
    void setKind(Kind kind);
    /// Fill `width` (comparison columns) or shrink to the text up to `width`.
    void setFill(bool fill) { m_fill = fill; }
    void setAvailableWidth(int width);
    QLabel* label() const { return m_label; }

private:
    void updateLabel();
    void updateWidth();

    Kind m_kind;
    QString m_text;
    bool m_streaming = false;
    bool m_fill = false;
    int m_available = 600;
    int m_naturalWidth = 0; // widest line of m_text, in pixels
    QLabel* m_label = nullptr;
};

/// A question, right-aligned.
class UserMessage : public TranscriptItem {
    Q_OBJECT
public:
    explicit UserMessage(const QString& text, QWidget* parent = nullptr);
    QString text() const;
    void setAvailableWidth(int width) override;

private:
    Bubble* m_bubble = nullptr;
};

/// An answer, left-aligned, with its badge once it is complete.
class AssistantMessage : public TranscriptItem {
    Q_OBJECT
public:
    /// `heading` (optional) is shown above the bubble, e.g. in a comparison.
    explicit AssistantMessage(const QString& heading = {}, QWidget* parent = nullptr);

    void appendText(const QString& text);
    void setText(const QString& text);
    QString text() const;
    /// While streaming the bubble shows a caret and the badge says who is answering.
    void setStreaming(bool streaming, const QString& who = {});
    bool isStreaming() const { return m_streaming; }
    void setInfo(const AnswerInfo& info);
    /// The request failed: `message` is shown in the bubble instead of (after) the text.
    void setError(const QString& message);
    void setFill(bool fill);
    void setAvailableWidth(int width) override;

    AnswerBadge* badge() const { return m_badge; }
    Bubble* bubble() const { return m_bubble; }

signals:
    /// The badge was clicked: show `query`'s route (to `expert`, with its runner-ups).
    void routeRequested(int expert, const QString& query,
                        const QList<QPair<int, float>>& candidates);

private:
    QLabel* m_heading = nullptr;
    Bubble* m_bubble = nullptr;
    AnswerBadge* m_badge = nullptr;
    QLabel* m_working = nullptr; // "Expert 3 is answering…" while streaming
    bool m_streaming = false;
    bool m_fill = false;
};

/// Two answers to one question, side by side.
class ComparisonRow : public TranscriptItem {
    Q_OBJECT
public:
    ComparisonRow(const QString& leftHeading, const QString& rightHeading,
                  QWidget* parent = nullptr);
    AssistantMessage* left() const { return m_left; }
    AssistantMessage* right() const { return m_right; }
    void setAvailableWidth(int width) override;

private:
    AssistantMessage* m_left = nullptr;
    AssistantMessage* m_right = nullptr;
};

} // namespace moin::ui
