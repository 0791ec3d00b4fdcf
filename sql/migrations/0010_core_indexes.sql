-- Indexes for the joins of matching and the ledger: by term and person keys.
create index hukou_term_id on core.hukou (province, term, id_number);
create index hukou_term_nbg on core.hukou (province, term, name_key, birth_date, gender);
create index registry_term_id on core.registry (province, term, id_number);
create index registry_term_student on core.registry (province, term, student_no);
create index registry_term_nbg on core.registry (province, term, name_key, birth_date, gender);
create index registry_term_school on core.registry (province, term, school_id, name_key);
create index roster_term_id on core.roster (province, term, id_number);
create index roster_term_student on core.roster (province, term, student_no);
create index roster_term_school on core.roster (province, term, school_id, name_key);
create index poverty_term_id on core.poverty (province, term, id_number);
create index special_groups_term_id on core.special_groups (province, term, id_number);
create index national_suspects_term_id on core.national_suspects (province, term, id_number);
create index followups_term_id on core.followups (province, term, id_number);
create index exemptions_id on core.exemptions (province, id_number);
create index graduates_term_id on core.graduates (province, term, id_number);
