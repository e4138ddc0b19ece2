-- The schema of main on 2026-12-03 (before migrations), as SQLModel's create_all made it (sqlite).
CREATE TABLE embedding (
	id INTEGER NOT NULL, 
	entity_type VARCHAR NOT NULL, 
	entity_id INTEGER NOT NULL, 
	model_id VARCHAR NOT NULL, 
	text_hash VARCHAR NOT NULL, 
	dim INTEGER NOT NULL, 
	vector BLOB NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (entity_type, entity_id, model_id)
);

CREATE INDEX ix_embedding_entity_id ON embedding (entity_id);

CREATE INDEX ix_embedding_model_id ON embedding (model_id);

CREATE INDEX ix_embedding_entity_type ON embedding (entity_type);

CREATE TABLE forum (
	id INTEGER NOT NULL, 
	external_id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	place VARCHAR, 
	start_date VARCHAR, 
	end_date VARCHAR, 
	meeting_minutes INTEGER NOT NULL, 
	tables INTEGER NOT NULL, 
	min_meetings INTEGER NOT NULL, 
	slots JSON NOT NULL, 
	participants JSON NOT NULL, 
	locks JSON NOT NULL, 
	removed JSON NOT NULL, 
	schedule JSON, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_forum_external_id ON forum (external_id);

CREATE TABLE project (
	id INTEGER NOT NULL, 
	external_id VARCHAR NOT NULL, 
	title VARCHAR NOT NULL, 
	aliases JSON NOT NULL, 
	description VARCHAR NOT NULL, 
	countries JSON NOT NULL, 
	places JSON NOT NULL, 
	themes JSON NOT NULL, 
	status VARCHAR, 
	start_year INTEGER, 
	end_year INTEGER, 
	budget JSON, 
	funding_sought JSON, 
	seeks JSON NOT NULL, 
	sources JSON NOT NULL, 
	outside_seed BOOLEAN NOT NULL, 
	text_hash VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_project_external_id ON project (external_id);

CREATE TABLE stakeholder (
	id INTEGER NOT NULL, 
	external_id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	original_name VARCHAR, 
	aliases JSON NOT NULL, 
	kind VARCHAR NOT NULL, 
	countries JSON NOT NULL, 
	places JSON NOT NULL, 
	description VARCHAR NOT NULL, 
	themes JSON NOT NULL, 
	offers JSON NOT NULL, 
	needs JSON NOT NULL, 
	languages JSON NOT NULL, 
	website VARCHAR, 
	contact JSON, 
	sources JSON NOT NULL, 
	outside_seed BOOLEAN NOT NULL, 
	text_hash VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_stakeholder_kind ON stakeholder (kind);

CREATE UNIQUE INDEX ix_stakeholder_external_id ON stakeholder (external_id);

CREATE TABLE participation (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	stakeholder_id INTEGER NOT NULL, 
	role VARCHAR NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (project_id, stakeholder_id, role), 
	FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE, 
	FOREIGN KEY(stakeholder_id) REFERENCES stakeholder (id) ON DELETE CASCADE
);

CREATE INDEX ix_participation_stakeholder_id ON participation (stakeholder_id);

CREATE INDEX ix_participation_project_id ON participation (project_id);
