#pragma once
// The Chat view's side panel: who answers, what to compare with, the system prompt and the
// sampling settings of the shown conversation.
#include "messagewidget.h"
#include "moin/conversations.h"

#include <QWidget>

#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QSpinBox;

namespace moin::ui {

class ChatSettingsPanel : public QWidget {
    Q_OBJECT
public:
    explicit ChatSettingsPanel(QWidget* parent = nullptr);

    /// Lists `experts` in both expert choices; the current choices stay when they still exist.
    void setExperts(const std::vector<ExpertLabel>& experts);
    /// Shows `conversation`'s settings without emitting changed().
    void setConversation(const Conversation& conversation);
    /// Writes the shown settings (system prompt, expert choice, sampling) into `conversation`;
    /// options the panel does not show (repetition penalty, stop at EOS) are kept.
    void applyTo(Conversation& conversation) const;
    /// Defaults for a new conversation.
    void reset();

    /// "auto", "base" or an expert id.
    QString expertChoice() const;
    void setExpertChoice(const QString& choice);
    /// Who answers the second column of a comparison: "base" or an expert id.
    QString compareChoice() const;
    void setCompareChoice(const QString& choice);

    QComboBox* expertCombo() const { return m_expert; }
    QComboBox* compareCombo() const { return m_compare; }
    QPlainTextEdit* systemPromptEdit() const { return m_systemPrompt; }
    QDoubleSpinBox* temperatureBox() const { return m_temperature; }
    QDoubleSpinBox* topPBox() const { return m_topP; }
    QSpinBox* topKBox() const { return m_topK; }
    QSpinBox* maxTokensBox() const { return m_maxTokens; }
    QSpinBox* seedBox() const { return m_seed; }

signals:
    /// The person changed a setting of the conversation (not emitted by setConversation()).
    void changed();

private:
    static void fillCombo(QComboBox* combo, const std::vector<ExpertLabel>& experts,
                          bool withAuto);
    static void selectChoice(QComboBox* combo, const QString& choice);

    std::vector<ExpertLabel> m_experts;
    QComboBox* m_expert = nullptr;
    QComboBox* m_compare = nullptr;
    QPlainTextEdit* m_systemPrompt = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QDoubleSpinBox* m_topP = nullptr;
    QSpinBox* m_topK = nullptr;
    QSpinBox* m_maxTokens = nullptr;
    QSpinBox* m_seed = nullptr;
};

} // namespace moin::ui
