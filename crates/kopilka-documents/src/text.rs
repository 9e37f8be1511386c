//! The documents' wording, one catalogue per language. These are fixed legal texts, so they
//! live here with the layout rather than in the site's message catalogues; `{name}` marks
//! what is filled in.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Ru,
    En,
}

pub(crate) struct Texts {
    pub(crate) registration: &'static str,
    pub(crate) certificate: &'static str,
    pub(crate) payslip: &'static str,
    pub(crate) dated: &'static str,
    pub(crate) running_head: &'static str,
    pub(crate) employment_subtitle: &'static str,
    pub(crate) income_subtitle: &'static str,
    pub(crate) payslip_subtitle: &'static str,
    pub(crate) employed_intro: &'static str,
    pub(crate) former_intro: &'static str,
    pub(crate) income_intro: &'static str,
    pub(crate) field_name: &'static str,
    pub(crate) field_position: &'static str,
    pub(crate) field_hired: &'static str,
    pub(crate) field_status: &'static str,
    pub(crate) still_employed: &'static str,
    pub(crate) no_longer_employed: &'static str,
    pub(crate) field_salary: &'static str,
    pub(crate) sum_in_words: &'static str,
    pub(crate) col_month: &'static str,
    pub(crate) col_gross: &'static str,
    pub(crate) col_tax: &'static str,
    pub(crate) col_net: &'static str,
    pub(crate) total: &'static str,
    pub(crate) income_summary: &'static str,
    pub(crate) accruals: &'static str,
    pub(crate) deductions: &'static str,
    pub(crate) col_code: &'static str,
    pub(crate) col_accrual: &'static str,
    pub(crate) col_deduction: &'static str,
    pub(crate) col_amount: &'static str,
    pub(crate) total_accrued: &'static str,
    pub(crate) total_deducted: &'static str,
    pub(crate) no_deductions: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) line_gross: &'static str,
    pub(crate) line_tax: &'static str,
    pub(crate) line_other: &'static str,
    pub(crate) line_net: &'static str,
    pub(crate) visa_employment: &'static str,
    pub(crate) visa_salary: &'static str,
    pub(crate) visa_leave: &'static str,
    pub(crate) visa_return: &'static str,
    pub(crate) default_addressee: &'static str,
    pub(crate) issued_for_any: &'static str,
    pub(crate) issued_for: &'static str,
    pub(crate) consulate: &'static str,
    pub(crate) signature_hint: &'static str,
    pub(crate) seal_place: &'static str,
    pub(crate) verify_intro: &'static str,
    pub(crate) verify_url: &'static str,
    pub(crate) verify_code: &'static str,
    pub(crate) page_of: &'static str,
}

pub(crate) const RU: Texts = Texts {
    registration: "ИНН {inn} / КПП {kpp}   ОГРН {ogrn}",
    certificate: "СПРАВКА № {number}",
    payslip: "РАСЧЁТНЫЙ ЛИСТОК № {number}",
    dated: "от {date}",
    running_head: "{title} от {date}",
    employment_subtitle: "с места работы",
    income_subtitle: "о доходах за период с {from} по {to}",
    payslip_subtitle: "за {month}",
    employed_intro: "{company} (ИНН {inn}) подтверждает, что указанный ниже работник \
                     состоит с организацией в трудовых отношениях и работает \
                     по настоящее время.",
    former_intro: "{company} (ИНН {inn}) подтверждает, что указанный ниже работник \
                   состоял с организацией в трудовых отношениях.",
    income_intro: "{company} (ИНН {inn}) как налоговый агент подтверждает доходы \
                   указанного ниже работника, начисленные и выплаченные организацией.",
    field_name: "Фамилия, имя, отчество",
    field_position: "Должность",
    field_hired: "Дата приёма на работу",
    field_status: "Трудовые отношения",
    still_employed: "работает по настоящее время",
    no_longer_employed: "прекращены",
    field_salary: "Ежемесячная заработная плата (до удержания НДФЛ)",
    sum_in_words: "{sum} ({words})",
    col_month: "Месяц",
    col_gross: "Начислено",
    col_tax: "Удержан НДФЛ",
    col_net: "Выплачено",
    total: "Итого",
    income_summary: "Общая сумма дохода за период составила {gross} ({words}), сумма \
                     удержанного налога на доходы физических лиц — {tax}, сумма \
                     выплаченного дохода — {net}.",
    accruals: "Начисления",
    deductions: "Удержания",
    col_code: "Код",
    col_accrual: "Вид начисления",
    col_deduction: "Вид удержания",
    col_amount: "Сумма",
    total_accrued: "Итого начислено",
    total_deducted: "Итого удержано",
    no_deductions: "Прочих удержаний в расчётном периоде нет.",
    summary: "Итоги",
    line_gross: "Начислено",
    line_tax: "Налог на доходы физических лиц (НДФЛ)",
    line_other: "Прочие удержания",
    line_net: "К выплате",
    visa_employment: "{company} подтверждает, что {name} работает в организации \
                      с {hired} по настоящее время в должности «{position}».",
    visa_salary: "Ежемесячная заработная плата работника составляет {sum} до \
                  удержания налога на доходы физических лиц.",
    visa_leave: "С {from} по {to} работнику предоставлен ежегодный оплачиваемый отпуск.",
    visa_return: "На время отпуска за работником сохраняются место работы и должность. \
                  По окончании отпуска работник возвращается к исполнению своих \
                  трудовых обязанностей.",
    default_addressee: "В консульство",
    issued_for_any: "Справка выдана для предъявления по месту требования.",
    issued_for: "Справка выдана для предъявления в {addressee}.",
    consulate: "консульство",
    signature_hint: "(подпись)",
    seal_place: "М. П.",
    verify_intro: "Документ подписан и зарегистрирован в системе кадрового учёта.",
    verify_url: "Проверить подлинность: {url}",
    verify_code: "Код проверки: {code}",
    page_of: "Страница {n} из {total}",
};

pub(crate) const EN: Texts = Texts {
    registration: "INN {inn} / KPP {kpp}   OGRN {ogrn}",
    certificate: "CERTIFICATE No. {number}",
    dated: "dated {date}",
    running_head: "{title} dated {date}",
    employment_subtitle: "of employment",
    visa_employment: "This is to certify that {name} has been employed by {company} \
                      since {hired} and currently holds the position of {position}.",
    visa_salary: "The employee's monthly salary is {sum} before income tax.",
    visa_leave: "The employee has been granted paid annual leave from {from} to {to}.",
    visa_return: "The employee's job and position are retained for the duration of \
                  the leave, and the employee will return to work upon its completion.",
    default_addressee: "To the Consulate",
    issued_for_any: "This certificate is issued for presentation where required.",
    issued_for: "This certificate is issued for presentation to {addressee}.",
    consulate: "the Consulate",
    signature_hint: "(signature)",
    seal_place: "L.S.",
    verify_intro: "The document is signed and registered in the HR records system.",
    verify_url: "Verify authenticity: {url}",
    verify_code: "Verification code: {code}",
    page_of: "Page {n} of {total}",
    // Only the visa letter has an English page; the rest stays Russian.
    ..RU
};

impl Lang {
    pub(crate) fn texts(self) -> Texts {
        match self {
            Lang::Ru => RU,
            Lang::En => EN,
        }
    }
}

impl Texts {
    /// `template` with each `{key}` replaced by its value.
    pub(crate) fn fill(&self, template: &str, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(template.to_owned(), |text, (key, value)| {
                text.replace(&format!("{{{key}}}"), value)
            })
    }
}

/// The company's name for an English reader: the legal form in English, the rest
/// transliterated («ООО «Копилка Ритейл»» → «LLC «Kopilka Riteil»»).
pub(crate) fn company_en(name: &str) -> String {
    // Longer forms first, so «ПАО» is not read as «АО».
    const FORMS: [(&str, &str); 8] = [
        (
            "Общество с ограниченной ответственностью",
            "Limited Liability Company",
        ),
        (
            "Публичное акционерное общество",
            "Public Joint-Stock Company",
        ),
        ("Непубличное акционерное общество", "Joint-Stock Company"),
        ("Акционерное общество", "Joint-Stock Company"),
        ("ООО", "LLC"),
        ("ПАО", "PJSC"),
        ("АО", "JSC"),
        ("ИП", "Individual Entrepreneur"),
    ];
    let name = name.trim();
    for (ru, en) in FORMS {
        if let Some(rest) = name.strip_prefix(ru) {
            if rest.starts_with([' ', '\u{a0}']) {
                return format!("{en}{}", crate::format::transliterate(rest));
            }
        }
    }
    crate::format::transliterate(name)
}

/// Usual signatories' positions in English; any other is kept as written.
pub(crate) fn position_en(position: &str) -> String {
    const KNOWN: [(&str, &str); 8] = [
        ("генеральный директор", "General Director"),
        ("директор", "Director"),
        ("главный бухгалтер", "Chief Accountant"),
        ("заместитель главного бухгалтера", "Deputy Chief Accountant"),
        ("директор по персоналу", "HR Director"),
        ("начальник отдела кадров", "Head of HR Department"),
        ("менеджер по персоналу", "HR Manager"),
        ("специалист по кадрам", "HR Specialist"),
    ];
    let key = position.trim().to_lowercase();
    KNOWN
        .iter()
        .find(|(ru, _)| *ru == key)
        .map_or_else(|| position.to_owned(), |(_, en)| (*en).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let t = RU;
        let text = t.fill(t.dated, &[("date", "7 декабря 2026 г.")]);
        assert_eq!(text, "от 7 декабря 2026 г.");
        assert_eq!(position_en("Главный бухгалтер"), "Chief Accountant");
        assert_eq!(position_en("Кассир"), "Кассир");
        assert_eq!(company_en("ООО «Копилка Ритейл»"), "LLC «Kopilka Riteil»");
        assert_eq!(
            company_en("Общество с ограниченной ответственностью «Копилка»"),
            "Limited Liability Company «Kopilka»"
        );
        assert_eq!(company_en("АОР «Ромашка»"), "AOR «Romashka»");
    }
}
