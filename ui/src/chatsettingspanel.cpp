#include "chatsettingspanel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace moin::ui {

namespace {
constexpr int kMaxTokensLimit = 8192;

QLabel* sectionLabel(const QString& text)
{
    auto* label = new QLabel(text);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    return label;
}

QLabel* hintLabel(const QString& text)
{
    auto* label = new QLabel(text);
    label->setWordWrap(true);
    QPalette palette = label->palette();
    const QColor ink = palette.color(QPalette::WindowText);
    const QColor paper = palette.color(QPalette::Window);
    palette.setColor(QPalette::WindowText, QColor((ink.red() * 58 + paper.red() * 42) / 100,
                                                  (ink.green() * 58 + paper.green() * 42) / 100,
                                                  (ink.blue() * 58 + paper.blue() * 42) / 100));
    label->setPalette(palette);
    QFont font = label->font();
    font.setPointSizeF(font.pointSizeF() * 0.92);
    label->setFont(font);
    return label;
}
} // namespace

ChatSettingsPanel::ChatSettingsPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName("chatSettings");

    m_expert = new QComboBox;
    m_expert->setObjectName("expertChoice");
    m_expert->setToolTip(tr("Who answers this conversation's questions: the expert the router "
                            "picks for each question, the base model alone, or one expert"));
    m_compare = new QComboBox;
    m_compare->setObjectName("compareChoice");
    m_compare->setToolTip(tr("Compare asks the question twice: as chosen above, and as chosen "
                             "here; the answers are shown side by side"));
    m_expert->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_compare->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_expert->setMinimumContentsLength(16);
    m_compare->setMinimumContentsLength(16);

    m_systemPrompt = new QPlainTextEdit;
    m_systemPrompt->setObjectName("systemPrompt");
    m_systemPrompt->setPlaceholderText(tr("Optional: text put before the conversation, e.g. "
                                          "\"Answers are short and factual.\""));
    m_systemPrompt->setTabChangesFocus(true);
    m_systemPrompt->setFixedHeight(m_systemPrompt->fontMetrics().lineSpacing() * 4 + 14);

    m_temperature = new QDoubleSpinBox;
    m_temperature->setObjectName("temperature");
    m_temperature->setRange(0, 2);
    m_temperature->setSingleStep(0.05);
    m_temperature->setDecimals(2);
    m_temperature->setSpecialValueText(tr("0 (greedy)"));
    m_temperature->setToolTip(tr("Higher is more varied, lower more predictable; 0 always takes "
                                 "the most likely token"));
    m_topP = new QDoubleSpinBox;
    m_topP->setObjectName("topP");
    m_topP->setRange(0.01, 1);
    m_topP->setSingleStep(0.05);
    m_topP->setDecimals(2);
    m_topP->setToolTip(tr("Sample only from the most likely tokens whose probabilities add up "
                          "to this; 1 keeps all"));
    m_topK = new QSpinBox;
    m_topK->setObjectName("topK");
    m_topK->setRange(0, 1000);
    m_topK->setSpecialValueText(tr("off"));
    m_topK->setToolTip(tr("Sample only from this many most likely tokens; off keeps all"));
    m_maxTokens = new QSpinBox;
    m_maxTokens->setObjectName("maxTokens");
    m_maxTokens->setRange(1, kMaxTokensLimit);
    m_maxTokens->setToolTip(tr("Most tokens an answer may have; it also ends at the end of the "
                               "model's context"));
    m_seed = new QSpinBox;
    m_seed->setObjectName("seed");
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_seed->setToolTip(tr("The same seed, question and settings give the same answer"));

    auto* sampling = new QFormLayout;
    sampling->setContentsMargins(0, 0, 0, 0);
    sampling->setHorizontalSpacing(10);
    sampling->setVerticalSpacing(6);
    sampling->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    sampling->addRow(tr("Temperature"), m_temperature);
    sampling->addRow(tr("Top-p"), m_topP);
    sampling->addRow(tr("Top-k"), m_topK);
    sampling->addRow(tr("Max tokens"), m_maxTokens);
    sampling->addRow(tr("Seed"), m_seed);

    auto* resetButton = new QPushButton(tr("Reset to defaults"));
    resetButton->setObjectName("resetSettings");
    connect(resetButton, &QPushButton::clicked, this, [this] {
        reset();
        emit changed();
    });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(14, 14, 14, 14);
    layout->setSpacing(6);
    auto* title = new QLabel(tr("Settings"));
    QFont titleFont = title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.2);
    titleFont.setBold(true);
    title->setFont(titleFont);
    layout->addWidget(title);
    layout->addWidget(hintLabel(tr("Saved with the conversation.")));
    layout->addSpacing(8);
    layout->addWidget(sectionLabel(tr("Answered by")));
    layout->addWidget(m_expert);
    layout->addSpacing(6);
    layout->addWidget(sectionLabel(tr("Compare with")));
    layout->addWidget(m_compare);
    layout->addSpacing(6);
    layout->addWidget(sectionLabel(tr("System prompt")));
    layout->addWidget(m_systemPrompt);
    layout->addSpacing(6);
    layout->addWidget(sectionLabel(tr("Sampling")));
    layout->addLayout(sampling);
    layout->addSpacing(8);
    layout->addWidget(resetButton, 0, Qt::AlignLeft);
    layout->addStretch(1);

    fillCombo(m_expert, {}, true);
    fillCombo(m_compare, {}, false);
    reset();

    const auto changedSignal = [this] { emit changed(); };
    connect(m_expert, &QComboBox::currentIndexChanged, this, changedSignal);
    connect(m_systemPrompt, &QPlainTextEdit::textChanged, this, changedSignal);
    connect(m_temperature, &QDoubleSpinBox::valueChanged, this, changedSignal);
    connect(m_topP, &QDoubleSpinBox::valueChanged, this, changedSignal);
    connect(m_topK, &QSpinBox::valueChanged, this, changedSignal);
    connect(m_maxTokens, &QSpinBox::valueChanged, this, changedSignal);
    connect(m_seed, &QSpinBox::valueChanged, this, changedSignal);
}

void ChatSettingsPanel::fillCombo(QComboBox* combo, const std::vector<ExpertLabel>& experts,
                                  bool withAuto)
{
    const QString current = combo->currentData().toString();
    const QSignalBlocker block(combo);
    combo->clear();
    if (withAuto) {
        combo->addItem(tr("Auto (routed)"), QStringLiteral("auto"));
        combo->setItemData(0, tr("Each question goes to the expert whose cluster is nearest"),
                           Qt::ToolTipRole);
    }
    combo->addItem(tr("Base only"), QStringLiteral("base"));
    combo->setItemData(combo->count() - 1, tr("The base model alone, without an adapter"),
                       Qt::ToolTipRole);
    if (!experts.empty())
        combo->insertSeparator(combo->count());
    for (const ExpertLabel& expert : experts) {
        combo->addItem(expertTitle(expert.id, expert.keywords), QString::number(expert.id));
        combo->setItemData(combo->count() - 1, expertTitle(expert.id, expert.keywords),
                           Qt::ToolTipRole);
    }
    selectChoice(combo, current.isEmpty() ? (withAuto ? QStringLiteral("auto")
                                                      : QStringLiteral("base"))
                                          : current);
}

void ChatSettingsPanel::selectChoice(QComboBox* combo, const QString& choice)
{
    const QSignalBlocker block(combo);
    int index = combo->findData(choice);
    if (index < 0 && !choice.isEmpty()) {
        bool isNumber = false;
        const int expert = choice.toInt(&isNumber);
        if (isNumber) {
            // An expert the list does not have (yet): keep the choice visible.
            combo->addItem(tr("Expert %1 (not loaded)").arg(expert), choice);
            index = combo->count() - 1;
        }
    }
    combo->setCurrentIndex(std::max(index, 0));
}

void ChatSettingsPanel::setExperts(const std::vector<ExpertLabel>& experts)
{
    m_experts = experts;
    fillCombo(m_expert, experts, true);
    fillCombo(m_compare, experts, false);
}

void ChatSettingsPanel::setConversation(const Conversation& conversation)
{
    const QSignalBlocker blockPrompt(m_systemPrompt);
    const QSignalBlocker blockTemperature(m_temperature);
    const QSignalBlocker blockTopP(m_topP);
    const QSignalBlocker blockTopK(m_topK);
    const QSignalBlocker blockMax(m_maxTokens);
    const QSignalBlocker blockSeed(m_seed);
    selectChoice(m_expert, QString::fromStdString(conversation.expertChoice));
    m_systemPrompt->setPlainText(QString::fromStdString(conversation.systemPrompt));
    const GenerationOptions& o = conversation.options;
    m_temperature->setValue(o.temperature);
    m_topP->setValue(o.topP);
    m_topK->setValue(o.topK);
    m_maxTokens->setValue(o.maxNewTokens);
    m_seed->setValue(int(std::min<uint64_t>(o.seed, uint64_t(std::numeric_limits<int>::max()))));
}

void ChatSettingsPanel::applyTo(Conversation& conversation) const
{
    conversation.expertChoice = expertChoice().toStdString();
    conversation.systemPrompt = m_systemPrompt->toPlainText().toStdString();
    GenerationOptions& o = conversation.options;
    o.temperature = m_temperature->value();
    o.topP = m_topP->value();
    o.topK = m_topK->value();
    o.maxNewTokens = m_maxTokens->value();
    o.seed = uint64_t(m_seed->value());
}

void ChatSettingsPanel::reset()
{
    Conversation defaults;
    setConversation(defaults);
}

QString ChatSettingsPanel::expertChoice() const
{
    const QString choice = m_expert->currentData().toString();
    return choice.isEmpty() ? QStringLiteral("auto") : choice;
}

void ChatSettingsPanel::setExpertChoice(const QString& choice) { selectChoice(m_expert, choice); }

QString ChatSettingsPanel::compareChoice() const
{
    const QString choice = m_compare->currentData().toString();
    return choice.isEmpty() ? QStringLiteral("base") : choice;
}

void ChatSettingsPanel::setCompareChoice(const QString& choice)
{
    selectChoice(m_compare, choice);
}

} // namespace moin::ui
